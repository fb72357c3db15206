"""Cost of sealing at rest (issue 13, item 3): seal and open of one template, one chip and one
probe photo, against a plain copy of the same bytes, and the cost of opening a gallery's
templates for an index rebuild.

The values are the sizes faceledger stores: a 128-d float32 template (512 bytes, SFace), a
150x150 chip JPEG (about 6 KB) and a probe photo (1 MB and 5 MB of random bytes: AES-GCM costs
the same on any content). Each figure is the best of ``--rounds`` runs of ``--repeat`` calls.

    .venv/bin/python benchmarks/bench_sealing.py [--rounds 5] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from faceledger.at_rest.sealing import Sealer

AAD = b"templates.embedding"


def best(fn: Callable[[], object], repeat: int, rounds: int) -> float:
    """Seconds per call, best of ``rounds`` runs of ``repeat`` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - start) / repeat)
    return min(times)


def main() -> None:
    """Print a Markdown table of the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    sealer = Sealer({1: os.urandom(32)}, 1)
    sizes = {
        "template (512 B)": 512,
        "chip JPEG (6 KB)": 6 * 1024,
        "probe (1 MB)": 1 << 20,
        "probe (5 MB)": 5 << 20,
    }
    print("| value | plain copy | seal | open | seal / copy | open / copy |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, size in sizes.items():
        data = os.urandom(size)
        sealed = sealer.seal(data, AAD)
        repeat = max(5, args.repeat * 512 // size) if size > 512 else args.repeat
        copy = best(lambda d=data: bytes(bytearray(d)), repeat, args.rounds)
        seal = best(lambda d=data: sealer.seal(d, AAD), repeat, args.rounds)
        opened = best(lambda s=sealed: sealer.open(s, AAD), repeat, args.rounds)
        print(
            f"| {name} | {copy * 1e6:.1f} µs | {seal * 1e6:.1f} µs | {opened * 1e6:.1f} µs | "
            f"{seal / copy:.1f}x | {opened / copy:.1f}x |"
        )
    templates = [sealer.seal(os.urandom(512), AAD) for _ in range(100_000)]
    start = time.perf_counter()
    for value in templates:
        sealer.open(value, AAD)
    elapsed = time.perf_counter() - start
    print(f"\nOpening 100,000 sealed templates (an index rebuild's reads): {elapsed:.2f} s")


if __name__ == "__main__":
    main()
