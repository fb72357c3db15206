"""Identity-level bootstrap intervals: they hold the estimate, narrow with data, and repeat."""

from __future__ import annotations

import numpy as np
import pytest

from faceledger.reports.evaluation import metrics


def _events(
    subjects: int, per_subject: int, rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    owner = np.repeat(np.arange(subjects), per_subject)
    return rng.random(owner.size) < rate, owner


def _interval(subjects: int, seed: int = 3) -> tuple[float, metrics.Interval]:
    events, owner = _events(subjects, 4, 0.3, seed=1)
    weights = metrics.subject_weights(subjects, 500, seed)
    point = float(events.mean())
    ci = metrics.percentile_interval(metrics.subject_rate_replicates(events, owner, weights))
    assert ci is not None
    return point, ci


def test_interval_contains_the_point_estimate() -> None:
    point, ci = _interval(60)
    assert ci.low <= point <= ci.high
    assert ci.low < ci.high


def test_interval_narrows_with_more_subjects() -> None:
    _, small = _interval(20)
    _, large = _interval(2000)
    assert (large.high - large.low) < (small.high - small.low) / 3


def test_fixed_seed_reproduces_and_another_seed_differs() -> None:
    assert _interval(50, seed=7) == _interval(50, seed=7)
    assert _interval(50, seed=7) != _interval(50, seed=8)


def test_weights_resample_subjects_with_replacement() -> None:
    weights = metrics.subject_weights(30, 200, seed=0)
    assert weights.shape == (200, 30)
    assert np.all(weights.sum(axis=1) == 30)
    assert weights.max() > 1  # some subject drawn twice in some replicate


def test_pair_rate_with_unit_weights_is_the_plain_rate() -> None:
    a = np.array([0, 0, 1, 2])
    b = np.array([1, 2, 2, 3])
    events = np.array([1, 0, 0, 1], dtype=bool)
    assert metrics.pair_rate_replicates(events, a, b, np.ones((1, 4)))[0] == pytest.approx(0.5)


def test_pair_rate_weighs_a_pair_by_both_draws() -> None:
    # Subject 0 drawn twice, 1 once, 2 never: pair (0,1) weighs 2, (0,2) and (1,2) weigh 0.
    a, b = np.array([0, 0, 1]), np.array([1, 2, 2])
    events = np.array([1, 0, 0], dtype=bool)
    rate = metrics.pair_rate_replicates(events, a, b, np.array([[2.0, 1.0, 0.0]]))
    assert rate[0] == pytest.approx(1.0)


def test_eer_interval_contains_the_point_eer() -> None:
    rng = np.random.default_rng(5)
    subjects = 200
    mated_subject = np.repeat(np.arange(subjects), 3)
    mated = rng.normal(0.6, 0.12, mated_subject.size)
    pairs_a = rng.integers(0, subjects, 20000)
    pairs_b = (pairs_a + rng.integers(1, subjects, 20000)) % subjects
    nonmated = rng.normal(1.1, 0.12, pairs_a.size)
    point = metrics.equal_error_rate(mated, nonmated).eer
    weights = metrics.subject_weights(subjects, 300, seed=2)
    replicates = metrics.eer_replicates(mated, mated_subject, nonmated, pairs_a, pairs_b, weights)
    ci = metrics.percentile_interval(replicates)
    assert ci is not None
    assert ci.low <= point <= ci.high
    assert ci.high - ci.low < 0.05
