"""Expected value and edge of a bet at a price (betting-math §2.3)."""

from __future__ import annotations

from . import _validate
from ._exceptions import InvalidParameterError


def expected_value(probability: float, odds: float) -> float:
    """Return the expected profit per unit staked, p*D - 1."""
    return _validate.probability(probability) * _validate.price(odds) - 1.0


def edge(probability: float, odds: float) -> float:
    """Return the edge in probability points, p - 1/D."""
    return _validate.probability(probability) - 1.0 / _validate.price(odds)


def is_value_bet(probability: float, odds: float, min_edge: float = 0.0) -> bool:
    """Return whether the edge p - 1/D exceeds min_edge; at 0 that means p*D > 1."""
    threshold = _validate.number(min_edge, "min_edge", InvalidParameterError)
    return edge(probability, odds) > threshold
