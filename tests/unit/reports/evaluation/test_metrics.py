"""The metrics on tiny fixed examples, checked against figures worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation import metrics

# Four mated and six non-mated distances (within threshold t means distance <= t).
MATED = [0.2, 0.3, 0.5, 0.7]
NONMATED = [0.4, 0.6, 0.8, 0.9, 1.0, 1.1]


@pytest.mark.parametrize(
    ("t", "fmr", "fnmr"),
    [
        # t=0.1: no non-mated within, all four mated beyond.
        (0.1, 0 / 6, 4 / 4),
        # t=0.3: mated 0.2, 0.3 within (0.5, 0.7 beyond); no non-mated within.
        (0.3, 0 / 6, 2 / 4),
        # t=0.4: non-mated 0.4 is within (<=): FMR 1/6.
        (0.4, 1 / 6, 2 / 4),
        # t=0.65: non-mated 0.4, 0.6 within; mated 0.7 beyond.
        (0.65, 2 / 6, 1 / 4),
        # t=1.1: every comparison within.
        (1.1, 6 / 6, 0 / 4),
    ],
)
def test_fmr_and_fnmr_by_hand(t: float, fmr: float, fnmr: float) -> None:
    got_fmr, got_fnmr = metrics.error_rates(MATED, NONMATED, [t])
    assert got_fmr[0] == pytest.approx(fmr)
    assert got_fnmr[0] == pytest.approx(fnmr)


def test_eer_by_hand() -> None:
    # |FMR - FNMR| at the measured distances:
    #   0.2: |0 - 3/4|, 0.3: |0 - 1/2|, 0.4: |1/6 - 1/2| = 1/3,
    #   0.5: |1/6 - 1/4| = 1/12, 0.6: |2/6 - 1/4| = 1/12, 0.7: |2/6 - 0| = 1/3 ...
    # Tie between 0.5 and 0.6: the smaller threshold wins; EER = (1/6 + 1/4) / 2 = 5/24.
    eer = metrics.equal_error_rate(MATED, NONMATED)
    assert eer.threshold == pytest.approx(0.5)
    assert eer.fmr == pytest.approx(1 / 6)
    assert eer.fnmr == pytest.approx(1 / 4)
    assert eer.eer == pytest.approx(5 / 24)


def test_failed_comparisons_stay_in_the_denominators() -> None:
    # An infinite distance (a photo that failed to enrol) is a false non-match when mated and
    # never a false match when non-mated; both still count: FNMR(0.3) = 3/5, FMR(0.4) = 1/7.
    fmr, fnmr = metrics.error_rates([*MATED, np.inf], [*NONMATED, np.inf], [0.3, 0.4])
    assert fnmr[0] == pytest.approx(3 / 5)
    assert fmr[1] == pytest.approx(1 / 7)


def test_error_curve_is_monotone_and_spans_0_to_1() -> None:
    curve = metrics.error_curve(MATED, NONMATED)
    assert np.all(np.diff(curve.fmr) >= 0)
    assert np.all(np.diff(curve.fnmr) <= 0)
    assert curve.fmr[0] == 0 and curve.fmr[-1] == 1
    assert curve.fnmr[0] == 1 and curve.fnmr[-1] == 0
    x, y = curve.det_axes()
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))


def test_empty_sets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="mated"):
        metrics.equal_error_rate([], NONMATED)


# A gallery of three identities (columns A, B, C) and six probes (rows):
#   p1 of A: mate 0.30, best of all               -> rank 1
#   p2 of B: mate 0.40, best of all               -> rank 1
#   p3 of C: mate 0.55, A is nearer (0.45)        -> rank 2
#   p4 of A: failed to enrol (row of inf)         -> never returned
#   n1 (nobody in the gallery): best candidate 0.35
#   n2 (nobody in the gallery): best candidate 0.60
INF = np.inf
DISTANCES = [
    [0.30, 0.60, 0.90],
    [0.50, 0.40, 0.80],
    [0.45, 0.70, 0.55],
    [INF, INF, INF],
    [0.50, 0.65, 0.35],
    [0.60, 0.90, 0.95],
]
GALLERY = [10, 11, 12]
PROBES = [10, 11, 12, 10, 20, 21]


@pytest.fixture
def outcomes() -> metrics.SearchOutcomes:
    return metrics.search_outcomes(DISTANCES, GALLERY, PROBES)


def test_search_outcomes_by_hand(outcomes: metrics.SearchOutcomes) -> None:
    assert outcomes.mate_rank.tolist() == [1, 1, 2, 4]  # 4 = gallery size + 1: not returned
    assert outcomes.mate_distance.tolist() == [0.30, 0.40, 0.55, INF]
    assert outcomes.nonmated_best.tolist() == [0.35, 0.60]


def test_cmc_by_hand(outcomes: metrics.SearchOutcomes) -> None:
    # Rank 1: p1, p2 of four mated probes; rank 2 adds p3; p4 is never found.
    assert metrics.cmc(outcomes.mate_rank, 3).tolist() == [2 / 4, 3 / 4, 3 / 4]


@pytest.mark.parametrize(
    ("target", "rank", "threshold", "fpir", "fnir", "within"),
    [
        # One of two non-mated searches may be a false positive: t = 0.35 (the smaller best).
        # Mated hits at rank 1 within 0.35: p1 only -> FNIR 3/4.
        (0.5, 1, 0.35, 1 / 2, 3 / 4, True),
        # Target 0.1 < 1/2: nothing measured shows it; clamped to the smallest (0.35), flagged.
        (0.1, 1, 0.35, 1 / 2, 3 / 4, False),
        # Target 1: every non-mated search may hit: t = 0.60; p1, p2 hit at rank 1 -> FNIR 2/4.
        (1.0, 1, 0.60, 2 / 2, 2 / 4, True),
        # Same, but a mate at rank <= 2 counts: p3 (0.55, rank 2) hits too -> FNIR 1/4.
        (1.0, 2, 0.60, 2 / 2, 1 / 4, True),
    ],
)
def test_fnir_at_fpir_by_hand(
    outcomes: metrics.SearchOutcomes,
    target: float,
    rank: int,
    threshold: float,
    fpir: float,
    fnir: float,
    within: bool,
) -> None:
    point = metrics.fnir_at_fpir(outcomes, target, rank)
    assert point.threshold == pytest.approx(threshold)
    assert point.fpir == pytest.approx(fpir)
    assert point.fnir == pytest.approx(fnir)
    assert point.within_measured_range is within


def test_fnir_replicates_with_unit_weights_match_the_point(
    outcomes: metrics.SearchOutcomes,
) -> None:
    ones = np.ones((1, 22))
    for target in (0.1, 0.5, 1.0):
        point = metrics.fnir_at_fpir(outcomes, target)
        assert metrics.fnir_at_fpir_replicates(outcomes, target, ones)[0] == pytest.approx(
            point.fnir
        )


def test_rate_threshold_skips_ties() -> None:
    # Two scores tie at 0.4: allowing one false positive must stop below both, at 0.3.
    scores = np.array([0.3, 0.4, 0.4, 0.9])
    chosen = metrics.rate_threshold(scores, 4, 0.5)  # allows 2: 0.3, 0.4, 0.4 would be 3
    assert chosen.threshold == pytest.approx(0.3)
    chosen = metrics.rate_threshold(scores, 4, 0.75)  # allows 3
    assert chosen.threshold == pytest.approx(0.4)


def test_a_gallery_must_hold_one_entry_per_identity() -> None:
    with pytest.raises(InvalidInput, match="one entry per identity"):
        metrics.search_outcomes([[0.1, 0.2]], [1, 1], [1])


def test_failure_rate() -> None:
    assert metrics.failure_rate([True, False, True, True]) == pytest.approx(0.25)
