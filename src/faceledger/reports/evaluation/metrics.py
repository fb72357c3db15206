"""Accuracy figures in NIST terms, as pure numpy functions over distances.

Scores are Euclidean distances between unit descriptors (0..2, smaller is more similar) and a
comparison is *within* threshold ``t`` when its distance is ``<= t``.

- 1:1 (ISO/IEC 19795-1): FMR(t) is the share of non-mated comparisons within ``t``; FNMR(t)
  the share of mated comparisons beyond it; EER where the two meet.
- 1:N (NIST FRVT 1:N, NISTIR 8271): CMC hit rates by rank; FPIR(t) the share of non-mated
  searches whose best candidate is within ``t``; FNIR(t, R) the share of mated searches whose
  mate is not returned at rank ``<= R`` within ``t``.

A photo that failed to enrol/acquire has infinite distances: a mated comparison or search
involving it is a miss, a non-mated one is never a false match, and both stay in the
denominators, as NIST counts them.

Uncertainty is a percentile bootstrap over subjects (identities), not photos: photos of one
person are not independent. A replicate draws subjects with replacement; a subject drawn ``w``
times weighs ``w`` in per-subject counts and ``w_a * w_b`` in cross-subject pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from faceledger.errors import InvalidInput

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
MAX_DISTANCE = 2.0
# Cap on replicate x pair products held at once by the EER bootstrap.
_CHUNK_CELLS = 4_000_000


# --- 1:1 -------------------------------------------------------------------------------------


def _scores(values: ArrayLike, what: str) -> Floats:
    scores = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if scores.size == 0:
        raise InvalidInput(f"No {what} comparisons to measure.")
    return scores


def error_rates(
    mated: ArrayLike, nonmated: ArrayLike, thresholds: ArrayLike
) -> tuple[Floats, Floats]:
    """Return (FMR, FNMR) at each threshold.

    Raises:
        InvalidInput: if either set of distances is empty.
    """
    m, n = _scores(mated, "mated"), _scores(nonmated, "non-mated")
    t = np.asarray(thresholds, dtype=np.float64)
    fmr = np.searchsorted(n, t, side="right") / n.size
    fnmr = 1.0 - np.searchsorted(m, t, side="right") / m.size
    return fmr, fnmr


@dataclass(frozen=True)
class ErrorCurve:
    """FMR and FNMR over thresholds: the ROC (1 - FNMR against FMR) and the DET."""

    thresholds: Floats
    fmr: Floats
    fnmr: Floats

    def det_axes(self) -> tuple[Floats, Floats]:
        """Return (probit FMR, probit FNMR): the normal-deviate axes of a DET plot."""
        return probit(self.fmr), probit(self.fnmr)


def probit(rates: ArrayLike) -> Floats:
    """Standard normal deviate of each rate, clipped to [1e-7, 1 - 1e-7]."""
    unit = NormalDist()
    clipped = np.clip(np.asarray(rates, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.array([unit.inv_cdf(float(r)) for r in clipped.ravel()]).reshape(clipped.shape)


def error_curve(mated: ArrayLike, nonmated: ArrayLike) -> ErrorCurve:
    """Return the error curve at a grid of thresholds dense where the curve changes.

    Raises:
        InvalidInput: if either set of distances is empty.
    """
    m, n = _scores(mated, "mated"), _scores(nonmated, "non-mated")
    grid = np.concatenate(
        [np.linspace(0.0, MAX_DISTANCE, 401), m[np.isfinite(m)], n[np.isfinite(n)][:2000]]
    )
    thresholds = np.unique(grid)
    fmr, fnmr = error_rates(m, n, thresholds)
    return ErrorCurve(thresholds, fmr, fnmr)


@dataclass(frozen=True)
class EqualErrorRate:
    """The threshold where FMR and FNMR are closest, and their mean there."""

    eer: float
    threshold: float
    fmr: float
    fnmr: float


def equal_error_rate(mated: ArrayLike, nonmated: ArrayLike) -> EqualErrorRate:
    """Return the EER: at the measured distance ``t`` minimising |FMR(t) - FNMR(t)| (the
    smallest such ``t`` on a tie), the mean of FMR(t) and FNMR(t).

    Raises:
        InvalidInput: if either set of distances is empty.
    """
    m, n = _scores(mated, "mated"), _scores(nonmated, "non-mated")
    candidates = np.unique(np.concatenate([m[np.isfinite(m)], n[np.isfinite(n)], [0.0]]))
    fmr, fnmr = error_rates(m, n, candidates)
    gap = np.abs(fmr - fnmr)
    best = int(np.flatnonzero(gap <= gap.min() + 1e-12)[0])  # ties in exact arithmetic
    return EqualErrorRate(
        eer=float((fmr[best] + fnmr[best]) / 2),
        threshold=float(candidates[best]),
        fmr=float(fmr[best]),
        fnmr=float(fnmr[best]),
    )


# --- thresholds at a target rate -------------------------------------------------------------


@dataclass(frozen=True)
class RateThreshold:
    """The loosest measured threshold whose false-positive rate is at most a target."""

    threshold: float
    allowed: int  # false positives the target allows: floor(target * total)
    within_measured_range: bool  # False: target < 1 / total, threshold clamped to the minimum


def rate_threshold(sorted_scores: Floats, total: int, target: float) -> RateThreshold:
    """Return the largest measured score ``t`` with #{scores <= t} <= floor(target * total).

    ``sorted_scores`` holds at least the smallest ``floor(target * total) + 1`` scores of
    ``total`` (infinite for failures). When the target is below 1 / total nothing measured
    can show it: the threshold is clamped to the smallest measured score (the most
    conservative measured value, whose own rate is 1 / total) and flagged.

    Raises:
        InvalidInput: if ``target`` is outside [0, 1] or there are no scores.
    """
    if not 0.0 <= target <= 1.0:
        raise InvalidInput(f"A target rate must lie in [0, 1], not {target}.")
    finite = sorted_scores[np.isfinite(sorted_scores)]
    if total <= 0 or finite.size == 0:
        raise InvalidInput("No finite non-mated scores to set a threshold on.")
    allowed = int(np.floor(target * total + 1e-9))
    if allowed == 0:
        return RateThreshold(float(finite[0]), 0, False)
    if allowed >= finite.size:
        return RateThreshold(float(finite[-1]), allowed, True)
    excluded = finite[allowed]  # the (allowed+1)-th smallest must stay beyond the threshold
    below = finite[:allowed][finite[:allowed] < excluded]
    threshold = below[-1] if below.size else np.nextafter(excluded, -np.inf)
    return RateThreshold(float(threshold), allowed, True)


# --- 1:N -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchOutcomes:
    """What each search returned, reduced to what the 1:N metrics need."""

    mate_rank: Ints  # per mated probe, 1-based; gallery_size + 1 when not returned at all
    mate_distance: Floats  # per mated probe; inf when not returned
    mated_subject: Ints
    nonmated_best: Floats  # per non-mated probe: best candidate's distance; inf on failure
    nonmated_subject: Ints
    gallery_size: int


def search_outcomes(
    distances: ArrayLike,
    gallery_subjects: ArrayLike,
    probe_subjects: ArrayLike,
) -> SearchOutcomes:
    """Reduce a probe x gallery distance matrix (rows of inf for failed probes) to outcomes.

    A probe is mated when its subject has a gallery entry. Its mate's rank counts every other
    entry at a distance ``<=`` the mate's (ties go against the mate).

    Raises:
        InvalidInput: if the gallery is empty or a subject is enrolled twice.
    """
    d = np.asarray(distances, dtype=np.float64)
    gallery = np.asarray(gallery_subjects, dtype=np.int64)
    probes = np.asarray(probe_subjects, dtype=np.int64)
    if gallery.size == 0:
        raise InvalidInput("The gallery is empty: no identity could be enrolled.")
    if np.unique(gallery).size != gallery.size:
        raise InvalidInput("A gallery must hold one entry per identity.")
    column = {int(s): i for i, s in enumerate(gallery)}
    mated = np.array([int(s) in column for s in probes], dtype=bool)
    rows = d[mated]
    cols = np.array([column[int(s)] for s in probes[mated]], dtype=np.int64)
    mate = rows[np.arange(rows.shape[0]), cols]
    rank = (rows <= mate[:, None]).sum(axis=1)  # counts the mate itself once
    returned = np.isfinite(mate)
    rank = np.where(returned, rank, gallery.size + 1).astype(np.int64)
    best = d[~mated].min(axis=1) if d[~mated].size else np.zeros(0)
    return SearchOutcomes(
        mate_rank=rank,
        mate_distance=np.where(returned, mate, np.inf),
        mated_subject=probes[mated],
        nonmated_best=np.asarray(best, dtype=np.float64),
        nonmated_subject=probes[~mated],
        gallery_size=int(gallery.size),
    )


def cmc(ranks: ArrayLike, max_rank: int = 50) -> Floats:
    """Return the hit rate at ranks 1..max_rank (share of mated searches with mate at <= r)."""
    r = np.asarray(ranks, dtype=np.int64)
    if r.size == 0:
        raise InvalidInput("No mated searches to measure.")
    return np.array([(r <= k).mean() for k in range(1, max_rank + 1)], dtype=np.float64)


def fnir(outcomes: SearchOutcomes, threshold: float, rank: int = 1) -> float:
    """FNIR(t, R): share of mated searches whose mate is not at rank <= R within ``t``."""
    hit = (outcomes.mate_rank <= rank) & (outcomes.mate_distance <= threshold)
    return float(1.0 - hit.mean())


def fpir(outcomes: SearchOutcomes, threshold: float) -> float:
    """FPIR(t): share of non-mated searches returning any candidate within ``t``."""
    return float((outcomes.nonmated_best <= threshold).mean())


@dataclass(frozen=True)
class FnirAtFpir:
    """FNIR at the threshold set on the non-mated searches for a target FPIR."""

    target_fpir: float
    threshold: float
    fpir: float  # measured at the threshold
    fnir: float
    within_measured_range: bool


def fnir_at_fpir(outcomes: SearchOutcomes, target_fpir: float, rank: int = 1) -> FnirAtFpir:
    """Set the threshold on non-mated best-candidate distances so that FPIR <= target (or
    clamp and flag it when the target is below 1 / non-mated searches), then measure FNIR.

    Raises:
        InvalidInput: if there are no non-mated searches.
    """
    scores = np.sort(outcomes.nonmated_best)
    if scores.size == 0:
        raise InvalidInput("No non-mated searches: FPIR cannot be set.")
    chosen = rate_threshold(scores, scores.size, target_fpir)
    return FnirAtFpir(
        target_fpir=target_fpir,
        threshold=chosen.threshold,
        fpir=fpir(outcomes, chosen.threshold),
        fnir=fnir(outcomes, chosen.threshold, rank),
        within_measured_range=chosen.within_measured_range,
    )


# --- bootstrap -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval."""

    low: float
    high: float

    def to_list(self) -> list[float]:
        """Return [low, high]."""
        return [self.low, self.high]


def subject_weights(subjects: int, replicates: int, seed: int) -> Floats:
    """Return replicates x subjects draw counts: each row resamples subjects with replacement.

    Raises:
        InvalidInput: if there are no subjects or no replicates.
    """
    if subjects < 1 or replicates < 1:
        raise InvalidInput("A bootstrap needs at least one subject and one replicate.")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(subjects, np.full(subjects, 1.0 / subjects), size=replicates)
    return draws.astype(np.float64)


def percentile_interval(replicates: ArrayLike, level: float = 0.95) -> Interval | None:
    """Return the central ``level`` percentile interval of the finite replicates, or None."""
    values = np.asarray(replicates, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))


def _divide(num: Floats, den: Floats) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Floats = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def subject_rate_replicates(events: ArrayLike, subjects: ArrayLike, weights: Floats) -> Floats:
    """Per replicate, the weighted share of items (each owned by one subject) that are events.

    With ``weights`` of ones (one row) this is the plain rate.
    """
    s = np.asarray(subjects, dtype=np.int64)
    e = np.asarray(events, dtype=np.float64)
    n = weights.shape[1]
    num = np.bincount(s, weights=e, minlength=n).astype(np.float64)
    den = np.bincount(s, minlength=n).astype(np.float64)
    return _divide(weights @ num, weights @ den)


def _pair_totals(a: Ints, b: Ints, values: Floats | None, weights: Floats) -> Floats:
    n = weights.shape[1]
    cells = np.bincount(a * n + b, weights=values, minlength=n * n).reshape(n, n)
    totals: Floats = np.einsum("rs,rs->r", weights @ cells.astype(np.float64), weights)
    return totals


def pair_rate_replicates(
    events: ArrayLike, subject_a: ArrayLike, subject_b: ArrayLike, weights: Floats
) -> Floats:
    """Per replicate, the weighted share of cross-subject pairs that are events (a pair of
    subjects drawn ``w_a`` and ``w_b`` times weighs ``w_a * w_b``)."""
    a = np.asarray(subject_a, dtype=np.int64)
    b = np.asarray(subject_b, dtype=np.int64)
    e = np.asarray(events, dtype=np.float64)
    return _divide(_pair_totals(a, b, e, weights), _pair_totals(a, b, None, weights))


def _eer_grid(mated: Floats, nonmated: Floats, eer: float) -> Floats:
    # Replicate EERs lie near the point EER: a grid from where FNMR is a few times the EER to
    # where FMR is, rather than all of 0..2, keeps the non-mated pairs to sweep few.
    reach = min(1.0, 4 * eer + 0.02)
    m, n = np.sort(mated), np.sort(nonmated)
    fm, fn = m[np.isfinite(m)], n[np.isfinite(n)]
    low = m[min(m.size - 1, int(np.floor((1 - reach) * m.size)))]
    high = n[min(n.size - 1, int(np.ceil(reach * n.size)))]
    low = low if np.isfinite(low) else (fm[-1] if fm.size else 0.0)
    high = high if np.isfinite(high) else (fn[-1] if fn.size else MAX_DISTANCE)
    if low >= high:
        low, high = min(low, high) - 0.05, max(low, high) + 0.05
    return np.linspace(max(0.0, low), min(MAX_DISTANCE, high), 256)


def eer_replicates(
    mated: ArrayLike,
    mated_subject: ArrayLike,
    nonmated: ArrayLike,
    nonmated_a: ArrayLike,
    nonmated_b: ArrayLike,
    weights: Floats,
) -> Floats:
    """Per replicate, the EER on a fine threshold grid around the point EER."""
    md = np.asarray(mated, dtype=np.float64)
    ms = np.asarray(mated_subject, dtype=np.int64)
    nd = np.asarray(nonmated, dtype=np.float64)
    na = np.asarray(nonmated_a, dtype=np.int64)
    nb = np.asarray(nonmated_b, dtype=np.int64)
    grid = _eer_grid(md, nd, equal_error_rate(md, nd).eer)
    size = grid.size
    n_subjects = weights.shape[1]

    # FNMR: per subject, mated comparisons within each grid threshold.
    within = np.zeros((n_subjects, size + 1))
    np.add.at(within, (ms, np.searchsorted(grid, md, side="left")), 1.0)
    hits = weights @ np.cumsum(within, axis=1)[:, :size]
    fnmr = 1.0 - _divide(hits, (weights @ np.bincount(ms, minlength=n_subjects))[:, None])

    # FMR: only pairs within the last grid threshold add to a numerator.
    keep = nd <= grid[-1]
    bins = np.searchsorted(grid, nd[keep], side="left")
    order = np.argsort(bins, kind="stable")
    bins, ka, kb = bins[order], na[keep][order], nb[keep][order]
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]]) if bins.size else np.zeros(0, int)
    den = _pair_totals(na, nb, None, weights)
    fmr = np.zeros((weights.shape[0], size))
    step = max(1, _CHUNK_CELLS // max(1, bins.size))
    for first in range(0, weights.shape[0], step):
        w = weights[first : first + step]
        per_bin = np.zeros((w.shape[0], size))
        if bins.size:
            sums = np.add.reduceat(w[:, ka] * w[:, kb], starts, axis=1)
            per_bin[:, bins[starts]] = sums
        fmr[first : first + step] = _divide(
            np.cumsum(per_bin, axis=1), den[first : first + step, None]
        )
    best = np.argmin(np.nan_to_num(np.abs(fmr - fnmr), nan=np.inf), axis=1)
    rows = np.arange(weights.shape[0])
    out: Floats = (fmr[rows, best] + fnmr[rows, best]) / 2
    return out


def fnir_at_fpir_replicates(
    outcomes: SearchOutcomes, target_fpir: float, weights: Floats, rank: int = 1
) -> Floats:
    """Per replicate, FNIR with the threshold re-set on that replicate's non-mated searches."""
    n_subjects = weights.shape[1]
    best = outcomes.nonmated_best
    values, where = np.unique(best, return_inverse=True)
    counts = np.zeros((n_subjects, values.size))
    np.add.at(counts, (outcomes.nonmated_subject, where), 1.0)
    weighted = weights @ counts  # replicates x distinct non-mated scores
    share = _divide(np.cumsum(weighted, axis=1), weighted.sum(axis=1, keepdims=True))
    finite = np.isfinite(values)
    allowed = (np.nan_to_num(share, nan=np.inf) <= target_fpir + 1e-12) & finite[None, :]
    count = allowed.sum(axis=1)
    smallest = values[finite][0] if finite.any() else MAX_DISTANCE
    thresholds = np.where(count > 0, values[np.maximum(count - 1, 0)], smallest)
    effective = np.where(outcomes.mate_rank <= rank, outcomes.mate_distance, np.inf)
    w = weights[:, outcomes.mated_subject]
    hit = (effective[None, :] <= thresholds[:, None]) * w
    return 1.0 - _divide(hit.sum(axis=1), w.sum(axis=1))


def failure_rate(ok: ArrayLike) -> float:
    """Share of photos that failed to enrol/acquire (``ok`` False)."""
    flags = np.asarray(ok, dtype=bool)
    return float(1.0 - flags.mean()) if flags.size else 0.0
