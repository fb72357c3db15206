"""Baseline for bench_enroll.py and bench_models.py: the face_recognition package.

Runs in its own virtual environment (face_recognition needs an older setuptools for
pkg_resources, which faceledger does not use), created by `make bench`:

    .venv-baseline/bin/python benchmarks/baseline_face_recognition.py ../shared/data/faces/people
        [--core N] [--search PROBE] [--verify FIRST SECOND] [--repeat 30]

Every photo is loaded, located (HOG, upsample 1) and encoded (5-point model), as
face_recognition's README does. Prints ``photos_per_second <float>`` for the people photos by
default; with ``--search`` it encodes the people photos first (not timed) and prints
``search_seconds`` (load + locate + encode the probe + compare with every known encoding,
``--repeat`` times) and ``search_best <name> <distance>``; with ``--verify`` it prints
``verify_seconds`` (two photos loaded, located and encoded, then compared) and
``verify_distance``. ``--core`` pins this process to one CPU core first.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import face_recognition
import numpy as np


def encode(path: Path) -> list[np.ndarray]:
    """Load, locate and encode every face of one photo."""
    image = face_recognition.load_image_file(path)
    locations = face_recognition.face_locations(image, number_of_times_to_upsample=1)
    return face_recognition.face_encodings(image, locations, model="small")


def seconds(line: str, values: list[float]) -> None:
    print(line, " ".join(f"{v:.6f}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("people", type=Path, help="folder of <name>/<photo> files")
    parser.add_argument("--core", type=int, default=None, help="pin to this CPU core")
    parser.add_argument("--search", type=Path, default=None, help="probe photo to search")
    parser.add_argument("--verify", type=Path, nargs=2, default=None, help="two photos")
    parser.add_argument("--repeat", type=int, default=30, help="timed searches / verifications")
    args = parser.parse_args()
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    paths = sorted(p for p in args.people.glob("*/*") if p.is_file())
    encode(paths[0])  # warm up

    if args.search is None and args.verify is None:
        start = time.perf_counter()
        for path in paths:
            encode(path)
        print(f"photos_per_second {len(paths) / (time.perf_counter() - start):.3f}")
        return

    if args.search is not None:
        known, names = [], []
        for path in paths:
            for encoding in encode(path):
                known.append(encoding)
                names.append(path.parent.name)
        durations, best = [], (0, 0.0)
        for _ in range(args.repeat):
            start = time.perf_counter()
            distances = [face_recognition.face_distance(known, e) for e in encode(args.search)]
            durations.append(time.perf_counter() - start)
            best = (int(np.argmin(distances[0])), float(np.min(distances[0])))
        seconds("search_seconds", durations)
        print(f"search_best {names[best[0]]} {best[1]:.4f} known_faces {len(known)}")

    if args.verify is not None:
        durations, distance = [], 0.0
        for _ in range(args.repeat):
            start = time.perf_counter()
            first, second = (encode(p)[0] for p in args.verify)
            distance = float(face_recognition.face_distance([first], second)[0])
            durations.append(time.perf_counter() - start)
        seconds("verify_seconds", durations)
        print(f"verify_distance {distance:.4f}")


if __name__ == "__main__":
    main()
