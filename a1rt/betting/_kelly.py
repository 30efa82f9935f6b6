"""Kelly stakes on the mutually exclusive outcomes of one event (betting-math §2.4).

Stakes are fractions of the bankroll. Probabilities may sum to less than 1: the remainder is
an outcome nobody bets on (single-bet Kelly is the one-outcome case).
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate
from ._exceptions import InvalidParameterError, InvalidProbabilityError
from ._validate import FloatArray, Floats


def kelly(
    probabilities: Floats, odds: Floats, fraction: float = 1.0, cap: float | None = None
) -> FloatArray:
    """Return growth-optimal stakes on one event's outcomes, scaled by fraction, total <= cap."""
    chances, prices = _outcomes(probabilities, odds)
    scale = _validate.positive(fraction, "fraction")
    if scale > 1.0:
        raise InvalidParameterError(f"fraction = {scale!r} must be at most 1 (full Kelly)")
    stakes = _full_kelly(chances, prices) * scale
    return stakes if cap is None else _capped(stakes, _validate.positive(cap, "cap"))


def kelly_single(probability: float, odds: float) -> float:
    """Return the Kelly stake on a single bet, max(0, (p*D - 1)/(D - 1))."""
    return float(kelly([probability], [odds])[0])


def expected_log_growth(probabilities: Floats, odds: Floats, stakes: Floats) -> float:
    """Return E[ln wealth] after staking these bankroll fractions; -inf if ruin is possible."""
    chances, prices = _outcomes(probabilities, odds)
    bets = _stakes(stakes, chances.size)
    kept = 1.0 - float(bets.sum())
    unlisted = 1.0 - float(chances.sum())
    wealth = np.append(kept + bets * prices, kept)
    weights = np.append(chances, unlisted if unlisted > _validate.SUM_TOLERANCE else 0.0)
    possible = weights > 0.0
    if np.any(wealth[possible] <= 0.0):
        return -math.inf
    return float((weights[possible] * np.log(wealth[possible])).sum())


def _outcomes(probabilities: Floats, odds: Floats) -> tuple[FloatArray, FloatArray]:
    chances = _validate.probabilities(probabilities)
    prices = _validate.prices(odds)
    _validate.same_length(chances, prices, "probabilities and odds")
    total = float(chances.sum())
    if total > 1.0 + _validate.SUM_TOLERANCE:
        raise InvalidProbabilityError(
            f"probabilities of mutually exclusive outcomes must sum to at most 1, got {total!r}"
        )
    return chances, prices


def _stakes(stakes: Floats, size: int) -> FloatArray:
    bets = _validate.vector(stakes, "stakes", InvalidParameterError)
    if bets.size != size:
        raise InvalidParameterError(f"stakes needs one entry per outcome ({size}), got {bets.size}")
    if np.any(bets < 0.0) or float(bets.sum()) > 1.0 + _validate.SUM_TOLERANCE:
        raise InvalidParameterError(f"stakes must be non-negative and sum to at most 1: {bets}")
    return bets


def _full_kelly(chances: FloatArray, prices: FloatArray) -> FloatArray:
    """Smoczynski-Tomkins: add outcomes by falling p*D while p*D beats the reserve rate R."""
    order = np.argsort(-(chances * prices), kind="stable")
    chosen: list[int] = []
    covered = implied = 0.0
    reserve = 1.0  # with nothing staked, all wealth is kept: R = 1
    for index in order:
        if chances[index] * prices[index] <= reserve:
            break
        chosen.append(int(index))
        covered += float(chances[index])
        implied += 1.0 / float(prices[index])
        reserve = _reserve(covered, implied)
    stakes = np.zeros_like(chances)
    picked = np.asarray(chosen, dtype=np.intp)
    stakes[picked] = np.maximum(chances[picked] - reserve / prices[picked], 0.0)
    return stakes


def _reserve(covered: float, implied: float) -> float:
    """R = (1 - sum p)/(1 - sum 1/D) over the chosen outcomes; 0 once they cover every chance."""
    if covered >= 1.0 or implied >= 1.0:
        return 0.0
    return (1.0 - covered) / (1.0 - implied)


def _capped(stakes: FloatArray, cap: float) -> FloatArray:
    total = float(stakes.sum())
    return stakes * (cap / total) if total > cap else stakes
