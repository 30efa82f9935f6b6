from __future__ import annotations

import numpy as np

from a1rt.models.ensemble import (
    Blend,
    fit_blend,
    fit_calibration,
    fit_weights,
    log_proba_from_margins,
    log_proba_from_probabilities,
    log_softmax,
    softmax,
)


def _sample(p: np.ndarray, seed: int = 0) -> np.ndarray:
    u = np.random.default_rng(seed).random(len(p))[:, None]
    return (u > np.cumsum(p, axis=1)).sum(axis=1).astype(np.int64)


def test_log_proba_from_margins_one_column_is_sigmoid_of_outcome_1() -> None:
    s = np.array([[-3.0], [0.0], [40.0]])
    p = np.exp(log_proba_from_margins(s))
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-s[:, 0])))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.isfinite(log_proba_from_margins(np.array([[1000.0]]))).all()


def test_log_proba_from_probabilities_floors_zero() -> None:
    logs = log_proba_from_probabilities(np.array([[0.0, 1.0]]))
    assert np.isfinite(logs).all() and logs[0, 0] < -10


def test_fit_weights_stay_on_the_simplex_and_prefer_the_informative_member() -> None:
    rng = np.random.default_rng(1)
    truth = softmax(rng.normal(size=(4000, 3)) * 1.5)
    y = _sample(truth)
    noise = log_softmax(rng.normal(size=(4000, 3)))
    weights = fit_weights([np.log(truth), noise], y)
    assert np.isclose(weights.sum(), 1.0) and (weights >= 0).all()
    assert weights[0] > 0.9


def test_fit_calibration_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(2)
    true_logits = rng.normal(size=(20000, 2)) * 1.5
    y = _sample(softmax(true_logits))
    scale, bias = fit_calibration(true_logits * 2.0, y)  # overconfident by a factor 2
    assert abs(scale - 0.5) < 0.05
    assert bias[0] == 0.0 and abs(bias[1]) < 0.1


def test_blend_confidence_is_one_when_members_agree_and_lower_when_not() -> None:
    p = softmax(np.array([[0.2, -0.1, 0.4], [2.0, 0.0, -1.0]]))
    blend = Blend(np.array([0.5, 0.5]), 1.0, np.zeros(3))
    same = [np.log(p), np.log(p)]
    np.testing.assert_allclose(blend.confidence(np.exp(same), blend.pooled(same)), 1.0)
    differ = [np.log(p), np.log(p[::-1])]
    assert (blend.confidence(np.exp(differ), blend.pooled(differ)) < 1.0).all()


def test_fit_blend_calibrated_probabilities_sum_to_one() -> None:
    rng = np.random.default_rng(3)
    truth = softmax(rng.normal(size=(3000, 2)))
    y = _sample(truth)
    logs = [np.log(truth), log_softmax(np.log(truth) * 1.7)]
    blend = fit_blend(logs, y)
    p = softmax(blend.calibrated(blend.pooled(logs)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
