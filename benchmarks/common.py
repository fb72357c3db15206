"""Helpers shared by the benchmark scripts: timing and the shared photos."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACES = (ROOT / ".." / "shared" / "data" / "faces").resolve()


def require_faces() -> Path:
    """Return the shared photos folder or exit with a message naming it."""
    if not (FACES / "people").is_dir():
        sys.exit(f"benchmark needs the shared photos at {FACES}/people")
    return FACES


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Run ``fn`` ``repeat`` times; return each duration in seconds."""
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def describe(values: list[float]) -> str:
    """Return 'p50 / p99 / mean' in milliseconds."""
    return (
        f"p50 {percentile(values, 50) * 1000:.2f} ms, p99 {percentile(values, 99) * 1000:.2f} ms, "
        f"mean {statistics.fmean(values) * 1000:.2f} ms (n={len(values)})"
    )
