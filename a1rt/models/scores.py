"""Proper scores and calibration error for probability forecasts of k outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
N_BINS = 10
_FLOOR = 1e-15


def row_log_loss(p: F64, y: I64) -> F64:
    """Per-row negative log-likelihood of the observed outcome."""
    result: F64 = -np.log(np.maximum(p[np.arange(len(y)), y], _FLOOR))
    return result


def log_loss(p: F64, y: I64) -> float:
    """Mean negative log-likelihood (natural log)."""
    return float(row_log_loss(p, y).mean())


def brier(p: F64, y: I64) -> float:
    """Multiclass Brier score: mean over rows of sum over outcomes of (p - observed)^2."""
    observed = np.eye(p.shape[1])[y]
    return float(((p - observed) ** 2).sum(axis=1).mean())


def accuracy(p: F64, y: I64) -> float:
    """Share of rows whose most probable outcome happened."""
    return float((p.argmax(axis=1) == y).mean())


@dataclass(frozen=True)
class ReliabilityCurve:
    """Equal-count bins of one outcome's forecasts: mean forecast and observed frequency."""

    forecast: F64
    observed: F64
    count: npt.NDArray[np.int64]

    @property
    def ece(self) -> float:
        """Expected calibration error: sum_b (n_b / N) |observed_b - forecast_b|."""
        gaps = np.abs(self.observed - self.forecast)
        return float((self.count * gaps).sum() / self.count.sum())


def reliability(p: F64, y: I64, outcome: int, n_bins: int = N_BINS) -> ReliabilityCurve:
    """Quantile (equal-count) reliability bins for one outcome; ties never empty a bin."""
    order = np.argsort(p[:, outcome], kind="stable")
    bins = [b for b in np.array_split(order, min(n_bins, len(order))) if len(b)]
    hit = (y == outcome).astype(np.float64)
    return ReliabilityCurve(
        forecast=np.array([p[b, outcome].mean() for b in bins]),
        observed=np.array([hit[b].mean() for b in bins]),
        count=np.array([len(b) for b in bins], dtype=np.int64),
    )


def ece_per_outcome(p: F64, y: I64, n_bins: int = N_BINS) -> list[float]:
    """ECE of each outcome's forecasts, quantile bins."""
    return [reliability(p, y, k, n_bins).ece for k in range(p.shape[1])]


@dataclass(frozen=True)
class Scores:
    """One forecaster's scores on one set of rows; ``ece`` is the worst outcome's."""

    log_loss: float
    brier: float
    ece: float
    ece_per_outcome: tuple[float, ...]
    accuracy: float

    def as_dict(self, prefix: str = "") -> dict[str, float | tuple[float, ...]]:
        """The scores keyed ``<prefix><score>``."""
        return {f"{prefix}{key}": value for key, value in self.__dict__.items()}


def score(p: F64, y: I64) -> Scores:
    """Log loss, Brier, ECE (worst outcome, and per outcome) and accuracy of forecasts ``p``."""
    per_outcome = tuple(ece_per_outcome(p, y))
    return Scores(log_loss(p, y), brier(p, y), max(per_outcome), per_outcome, accuracy(p, y))


def paired_difference_ci95(p: F64, q: F64, y: I64) -> tuple[float, float]:
    """95% normal interval of mean(log loss of p - log loss of q), treating rows as independent."""
    diff = row_log_loss(p, y) - row_log_loss(q, y)
    half = 1.96 * float(diff.std(ddof=1)) / float(np.sqrt(len(diff)))
    return float(diff.mean()) - half, float(diff.mean()) + half
