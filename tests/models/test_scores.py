from __future__ import annotations

import numpy as np

from a1rt.models.scores import (
    brier,
    ece_per_outcome,
    log_loss,
    paired_difference_ci95,
    reliability,
    score,
)


def test_scores_of_a_known_forecast() -> None:
    p = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    assert np.isclose(log_loss(p, y), -np.mean(np.log([0.8, 0.7, 0.5, 0.1])))
    assert np.isclose(brier(p, y), np.mean([0.08, 0.18, 0.5, 1.62]))
    s = score(p, y)
    assert s.accuracy == 0.75  # a tie goes to outcome 0, which happened in row 3
    assert s.ece == max(s.ece_per_outcome) and len(s.ece_per_outcome) == 2


def test_ece_is_zero_for_bins_that_match_their_frequency() -> None:
    p = np.repeat([[0.25, 0.75], [0.75, 0.25]], 4, axis=0)
    y = np.array([0, 1, 1, 1, 0, 0, 0, 1])
    assert ece_per_outcome(p, y, n_bins=2) == [0.0, 0.0]


def test_reliability_bins_have_equal_counts_even_with_ties() -> None:
    p = np.tile([[0.5, 0.5]], (100, 1))
    curve = reliability(p, np.zeros(100, dtype=np.int64), 0, n_bins=10)
    assert curve.count.tolist() == [10] * 10
    assert np.allclose(curve.forecast, 0.5) and np.allclose(curve.observed, 1.0)
    assert np.isclose(curve.ece, 0.5)


def test_paired_difference_interval_contains_zero_for_identical_forecasts() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet([2, 2, 2], size=500)
    y = rng.integers(0, 3, 500)
    low, high = paired_difference_ci95(p, p, y)
    assert low == high == 0.0
