"""Distances between photos' descriptors, with matrix operations in chunks.

Rows of NaN (photos that failed to enrol) give infinite distances: never within a threshold,
always counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from faceledger.reports.evaluation.dataset import Pair
from faceledger.reports.evaluation.demographics import Comparisons
from faceledger.reports.evaluation.metrics import Floats, Ints

CHUNK_ROWS = 512


def cross_distances(a: NDArray[np.float32], b: NDArray[np.float32]) -> Floats:
    """Return the Euclidean distance between every row of ``a`` and every row of ``b``
    (unit rows: sqrt(2 - 2 a.b)); inf where either row is NaN."""
    bad_a, bad_b = np.isnan(a).any(axis=1), np.isnan(b).any(axis=1)
    dots = np.nan_to_num(a).astype(np.float64) @ np.nan_to_num(b).astype(np.float64).T
    distances = np.sqrt(np.clip(2.0 - 2.0 * dots, 0.0, 4.0))
    distances[bad_a, :] = np.inf
    distances[:, bad_b] = np.inf
    return distances


def all_pairs(vectors: NDArray[np.float32], subjects: Ints) -> tuple[Comparisons, Comparisons]:
    """Return (mated, non-mated) comparisons over every unordered pair of photos."""
    mated: list[tuple[Floats, Ints, Ints]] = []
    nonmated: list[tuple[Floats, Ints, Ints]] = []
    n = vectors.shape[0]
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        block = cross_distances(vectors[start:stop], vectors[start:])
        rows, cols = np.triu_indices(stop - start, k=1, m=n - start)
        x, y = rows + start, cols + start
        d = block[rows, cols]
        same = subjects[x] == subjects[y]
        mated.append((d[same], x[same], y[same]))
        nonmated.append((d[~same], x[~same], y[~same]))
    return _stack(mated), _stack(nonmated)


def _stack(parts: list[tuple[Floats, Ints, Ints]]) -> Comparisons:
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Comparisons(np.zeros(0), empty, empty)
    return Comparisons(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
        np.concatenate([p[2] for p in parts]).astype(np.int64),
    )


def listed_pairs(
    vectors: NDArray[np.float32], pairs: Sequence[Pair]
) -> tuple[Comparisons, Comparisons]:
    """Return (mated, non-mated) comparisons for the listed pairs only."""
    x = np.array([p.x for p in pairs], dtype=np.int64)
    y = np.array([p.y for p in pairs], dtype=np.int64)
    same = np.array([p.same for p in pairs], dtype=bool)
    a, b = vectors[x].astype(np.float64), vectors[y].astype(np.float64)
    bad = np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1)
    dots = np.einsum("ij,ij->i", np.nan_to_num(a), np.nan_to_num(b))
    d = np.where(bad, np.inf, np.sqrt(np.clip(2.0 - 2.0 * dots, 0.0, 4.0)))
    return Comparisons(d[same], x[same], y[same]), Comparisons(d[~same], x[~same], y[~same])
