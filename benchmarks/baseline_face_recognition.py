"""Baseline for bench_enroll.py: the face_recognition package on the shared people photos.

Runs in its own virtual environment (face_recognition needs an older setuptools for
pkg_resources, which faceledger does not use), created by `make bench`:

    .venv-baseline/bin/python benchmarks/baseline_face_recognition.py ../shared/data/faces/people

Prints one line: ``photos_per_second <float>``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import face_recognition


def main() -> None:
    people = Path(sys.argv[1])
    paths = sorted(p for p in people.glob("*/*") if p.is_file())
    face_recognition.face_encodings(face_recognition.load_image_file(paths[0]))  # warm up
    start = time.perf_counter()
    for path in paths:
        image = face_recognition.load_image_file(path)
        locations = face_recognition.face_locations(image, number_of_times_to_upsample=1)
        face_recognition.face_encodings(image, locations, model="small")
    print(f"photos_per_second {len(paths) / (time.perf_counter() - start):.3f}")


if __name__ == "__main__":
    main()
