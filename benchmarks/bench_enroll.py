"""Enrolment throughput on the 54 shared photos, against the face_recognition package.

The baseline is the ``face_recognition`` package (HOG, upsample 1, 5-point model) computing one
encoding per photo, run in this same process and run, so machine noise cancels in the ratios.
faceledger is measured in-process with 1 worker and through the process pool with every core.

    make bench   # builds .venv-baseline with face_recognition, then runs this
    .venv/bin/python benchmarks/bench_enroll.py [--rounds 2] [--baseline-python PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import require_faces
from faceledger import FaceLedger, load_settings
from faceledger.biometrics.image import read_image_file
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator

OPERATOR = LocalOperator("bench")


def enrol_rate(faces: Path, workers: int) -> float:
    """Return photos per second for enrolling people/ into a fresh data directory."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"data_dir": Path(tmp) / "data", "enroll_workers": workers}, environ={}
        )
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        items = from_folder_tree(faces / "people")
        first = read_image_file(items[0].path, settings.max_image_pixels, settings.max_image_bytes)
        service.context.pipeline.analyse(first)  # load the models first
        start = time.perf_counter()
        summary = service.galleries.enroll(OPERATOR, "people", items)
        elapsed = time.perf_counter() - start
        service.close()
    assert summary.enrolled == len(items), summary.to_dict()
    return len(items) / elapsed


def baseline_rate(faces: Path, python: Path) -> float | None:
    """Return photos per second of face_recognition (load + locate + encode), or None when
    its environment is missing. It runs in its own venv (see baseline_face_recognition.py)."""
    if not python.exists():
        return None
    script = Path(__file__).with_name("baseline_face_recognition.py")
    out = subprocess.run(
        [str(python), str(script), str(faces / "people")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of each measurement")
    parser.add_argument(
        "--baseline-python",
        type=Path,
        default=Path(".venv-baseline/bin/python"),
        help="python of the venv holding face_recognition",
    )
    args = parser.parse_args()
    faces = require_faces()
    cores = os.cpu_count() or 1
    for round_no in range(1, args.rounds + 1):
        base = baseline_rate(faces, args.baseline_python)
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
