"""Ensemble math: member outputs as log-probabilities, logarithmic pooling, calibration, confidence.

The ensemble pools its members in log space (a weighted logarithmic opinion pool):

    pooled logits   z  = sum_m w_m * log p_m            (w on the simplex)
    calibrated      z' = scale * z + bias                (bias[0] = 0)
    probabilities   p  = softmax(z')

Log pooling keeps the calibrated log-odds *linear* in each member's log-probabilities, which is what
lets explanations add up exactly (see ``explain.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

F64 = npt.NDArray[np.float64]
PROBABILITY_FLOOR = 1e-6  # random-forest leaves can say 0; log pooling needs a floor
_BINARY_SIGNS = np.array([1.0, -1.0])  # margin s -> (s, -s), one broadcast (no concatenate)


def log_softmax(z: F64) -> F64:
    """Row-wise log-softmax."""
    shifted = z - z.max(axis=1, keepdims=True)
    result: F64 = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


def softmax(z: F64) -> F64:
    """Row-wise softmax."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: F64 = e / e.sum(axis=1, keepdims=True)
    return result


def margins_as_class_logits(margins: npt.NDArray[np.floating[Any]]) -> F64:
    """Per-class logits from tree/MLP margins: one column s means logits (0, s) for 2 classes."""
    m = np.asarray(margins, dtype=np.float64)
    if m.ndim == 1:
        m = m[:, None]
    if m.shape[1] == 1:
        return np.concatenate([np.zeros_like(m), m], axis=1)
    return m


def log_proba_from_margins(margins: npt.NDArray[np.floating[Any]]) -> F64:
    """Log class probabilities from margins (sigmoid for one column, softmax otherwise)."""
    m = np.asarray(margins, dtype=np.float64)
    if m.ndim == 2 and m.shape[1] == 1:  # log sigmoid(-s), log sigmoid(s): the hot binary path
        result: F64 = -np.logaddexp(0.0, m * _BINARY_SIGNS)
        return result
    return log_softmax(margins_as_class_logits(m))


def log_proba_from_probabilities(p: npt.NDArray[np.floating[Any]]) -> F64:
    """Log class probabilities from probabilities, floored at ``PROBABILITY_FLOOR``."""
    result: F64 = np.log(np.maximum(np.asarray(p, dtype=np.float64), PROBABILITY_FLOOR))
    return result


def mean_log_loss(log_p: F64, y: npt.NDArray[np.int64]) -> float:
    """Mean negative log-likelihood of the labels under normalised log-probabilities."""
    return float(-log_p[np.arange(len(y)), y].mean())


@dataclass(frozen=True)
class Blend:
    """Fitted pooling weights (aligned with the members) and calibration."""

    weights: F64
    scale: float
    bias: F64

    def pooled(self, member_logs: Sequence[F64]) -> F64:
        """Uncalibrated pooled logits, sum_m w_m log p_m."""
        z: F64 = member_logs[0] * self.weights[0]
        for w, logs in zip(self.weights[1:], member_logs[1:], strict=True):
            z = z + w * logs
        return z

    def calibrated(self, pooled: F64) -> F64:
        """Calibrated logits, scale * pooled + bias."""
        result: F64 = self.scale * pooled + self.bias
        return result

    def confidence(self, member_probabilities: F64, pooled: F64) -> F64:
        """Member agreement in [0, 1]: 1 - weighted mean total-variation distance to the pool.

        ``member_probabilities`` is stacked (members, n, k).
        """
        distance = np.abs(member_probabilities - softmax(pooled)).sum(axis=2)  # (members, n)
        # min/max rather than np.clip, whose wrapper costs more than the arithmetic here
        result: F64 = np.minimum(np.maximum(1.0 - 0.5 * (self.weights @ distance), 0.0), 1.0)
        return result


def fit_weights(member_logs: Sequence[F64], y: npt.NDArray[np.int64]) -> F64:
    """Pooling weights on the simplex minimising validation log loss (SLSQP)."""
    m = len(member_logs)

    def objective(w: F64) -> tuple[float, F64]:
        # Element-wise, not tensordot: BLAS may sum in a thread- or alignment-dependent order,
        # and SLSQP turns last-bit noise into different weights for the same seed.
        logp = log_softmax(Blend(w, 1.0, np.zeros(1)).pooled(member_logs))
        residual = _residual(logp, y)
        gradient = np.array([np.sum(residual * logs) for logs in member_logs]) / len(y)
        return mean_log_loss(logp, y), gradient

    result = minimize(
        objective,
        np.full(m, 1.0 / m),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=({"type": "eq", "fun": lambda w: float(np.sum(w) - 1.0)},),
        options={"ftol": 1e-12, "maxiter": 500},
    )
    weights: F64 = np.asarray(result.x, dtype=np.float64)
    weights[weights < 1e-6] = 0.0  # SLSQP leaves dust on the bounds; a zero skips the member
    normalised: F64 = weights / float(weights.sum())
    return normalised


def fit_calibration(pooled: F64, y: npt.NDArray[np.int64]) -> tuple[float, F64]:
    """Scale and per-outcome bias of the pooled logits minimising validation log loss."""
    k = pooled.shape[1]

    def objective(theta: F64) -> tuple[float, F64]:
        logp = log_softmax(theta[0] * pooled + np.concatenate([[0.0], theta[1:]]))
        residual = _residual(logp, y)
        gradient = np.concatenate([[np.sum(residual * pooled)], residual[:, 1:].sum(axis=0)])
        return mean_log_loss(logp, y), gradient / len(y)

    start = np.concatenate([[1.0], np.zeros(k - 1)])
    bounds = [(0.05, 20.0)] + [(-10.0, 10.0)] * (k - 1)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = np.asarray(result.x, dtype=np.float64)
    return float(theta[0]), np.concatenate([[0.0], theta[1:]])


def _residual(logp: F64, y: npt.NDArray[np.int64]) -> F64:
    """d(log loss)/d(logits) per row: p - onehot(y)."""
    residual: F64 = np.exp(logp)
    residual[np.arange(len(y)), y] -= 1.0
    return residual


def fit_blend(member_logs: Sequence[F64], y: npt.NDArray[np.int64]) -> Blend:
    """Fit weights, then calibration, on the validation split."""
    weights = fit_weights(member_logs, y)
    probe = Blend(weights, 1.0, np.zeros(member_logs[0].shape[1]))
    scale, bias = fit_calibration(probe.pooled(member_logs), y)
    return Blend(weights, scale, bias)
