"""Enrolment throughput on the 54 shared photos, against the face_recognition package.

The baseline is the ``face_recognition`` package (HOG, upsample 1, 5-point model) computing one
encoding per photo, run in this same process and run, so machine noise cancels in the ratios.
faceledger is measured in-process with 1 worker and through the process pool with every core.

    .venv/bin/pip install --no-deps face_recognition   # baseline only, not a dependency
    .venv/bin/python benchmarks/bench_enroll.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import require_faces
from faceledger import FaceLedger, load_settings
from faceledger.gallery.sources import from_folder_tree


def enrol_rate(faces: Path, workers: int) -> float:
    """Return photos per second for enrolling people/ into a fresh data directory."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"data_dir": Path(tmp) / "data", "enroll_workers": workers}, environ={}
        )
        service = FaceLedger.initialise(settings, "bench")
        items = from_folder_tree(faces / "people")
        service.pipeline.analyse(service.decode(items[0].path))  # load the models first
        start = time.perf_counter()
        summary = service.enroll("bench", "people", items)
        elapsed = time.perf_counter() - start
        service.close()
    assert summary.enrolled == len(items), summary.to_dict()
    return len(items) / elapsed


def baseline_rate(faces: Path) -> float | None:
    """Return photos per second for face_recognition's load + locate + encode, or None."""
    try:
        import face_recognition
    except ImportError:
        return None
    paths = sorted(p for p in (faces / "people").glob("*/*") if p.is_file())
    face_recognition.face_encodings(face_recognition.load_image_file(paths[0]))
    start = time.perf_counter()
    for path in paths:
        image = face_recognition.load_image_file(path)
        locations = face_recognition.face_locations(image, number_of_times_to_upsample=1)
        face_recognition.face_encodings(image, locations, model="small")
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of each measurement")
    args = parser.parse_args()
    faces = require_faces()
    cores = os.cpu_count() or 1
    for round_no in range(1, args.rounds + 1):
        base = baseline_rate(faces)
        one = enrol_rate(faces, 1)
        many = enrol_rate(faces, cores)
        print(f"round {round_no}:")
        if base is None:
            print(
                "  face_recognition baseline: not installed (pip install --no-deps "
                "face_recognition)"
            )
        else:
            print(f"  face_recognition baseline, 1 core: {base:.1f} photos/s")
        print(
            f"  faceledger enrol, 1 worker:        {one:.1f} photos/s"
            + (f"  (ratio {one / base:.2f}x baseline)" if base else "")
        )
        print(
            f"  faceledger enrol, {cores} workers:       {many:.1f} photos/s  "
            f"(ratio {many / one:.2f}x one worker)"
        )


if __name__ == "__main__":
    main()
