"""Operating thresholds from the impostor distribution, live and from a stored summary."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from faceledger.errors import InvalidInput
from faceledger.reports.evaluation.calibration import (
    ImpostorDistribution,
    fmr_for_fpir,
    threshold_for_fmr,
    threshold_for_fpir,
)

RNG = np.random.default_rng(11)
SCORES = RNG.uniform(0.5, 1.5, 100_000)


@pytest.fixture(scope="module")
def impostor() -> ImpostorDistribution:
    return ImpostorDistribution.from_distances(SCORES)


def _empirical_fmr(threshold: float) -> float:
    return float((np.round(SCORES, 6) <= threshold).mean())


def test_fmr_for_fpir_inverts_the_independence_formula() -> None:
    fmr = fmr_for_fpir(0.003, 1000)
    assert 1 - (1 - fmr) ** 1000 == pytest.approx(0.003)
    assert fmr_for_fpir(0.003, 1) == pytest.approx(0.003)


def test_threshold_for_fpir_gets_stricter_as_the_gallery_grows(
    impostor: ImpostorDistribution,
) -> None:
    thresholds = [threshold_for_fpir(impostor, 0.01, n).threshold for n in (1, 10, 100, 1000)]
    assert all(a > b for a, b in itertools.pairwise(thresholds)), thresholds


@pytest.mark.parametrize("target", [1e-4, 3e-4, 1e-3, 0.01, 0.05, 0.3])
def test_threshold_for_fmr_keeps_the_empirical_fmr_within_the_target(
    impostor: ImpostorDistribution, target: float
) -> None:
    chosen = threshold_for_fmr(impostor, target)
    assert chosen.within_measured_range
    assert _empirical_fmr(chosen.threshold) <= target
    assert chosen.measured_fmr <= target


def test_threshold_for_fmr_is_the_loosest_measured_one(impostor: ImpostorDistribution) -> None:
    chosen = threshold_for_fmr(impostor, 1e-3)
    next_score = np.sort(np.round(SCORES, 6))[np.round(SCORES, 6) <= chosen.threshold].size
    assert _empirical_fmr(float(np.sort(np.round(SCORES, 6))[next_score])) > 1e-3


def test_within_measured_range_flips_below_one_over_count() -> None:
    impostor = ImpostorDistribution.from_distances(RNG.uniform(0.5, 1.5, 1000))
    inside = threshold_for_fmr(impostor, 1 / 1000)
    outside = threshold_for_fmr(impostor, 0.9 / 1000)
    assert inside.within_measured_range
    assert not outside.within_measured_range
    assert outside.threshold == pytest.approx(float(impostor.smallest[0]))
    assert "below 1/1000" in outside.note


def test_a_stored_summary_gives_the_same_thresholds(impostor: ImpostorDistribution) -> None:
    stored = json.loads(json.dumps(impostor.to_summary()))
    again = ImpostorDistribution.from_summary(stored)
    for target in (1e-5, 1e-4, 1e-3, 0.01):
        assert threshold_for_fmr(again, target) == threshold_for_fmr(impostor, target)


def test_beyond_the_kept_distances_the_quantile_grid_answers_conservatively() -> None:
    impostor = ImpostorDistribution.from_distances(SCORES, keep=100)
    chosen = threshold_for_fmr(impostor, 0.04)  # 4000 scores: far beyond the 100 kept
    assert chosen.within_measured_range
    assert _empirical_fmr(chosen.threshold) <= 0.04
    assert _empirical_fmr(chosen.threshold) >= 0.03  # the grid's 0.03 point, not something tiny


def test_malformed_summary_is_refused() -> None:
    with pytest.raises(InvalidInput, match="impostor"):
        ImpostorDistribution.from_summary({"count": 3})
