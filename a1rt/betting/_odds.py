"""Odds formats and the bookmaker's margin of a market (betting-math §2.1)."""

from __future__ import annotations

import re
from fractions import Fraction

from . import _validate
from ._exceptions import InvalidOddsError, InvalidParameterError, InvalidProbabilityError
from ._validate import Floats

_FRACTIONAL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")
_EVENS = frozenset({"evens", "evs", "even"})


def american_to_decimal(american: float) -> float:
    """Convert American odds (+170, -125) to a decimal price."""
    value = _validate.number(american, "american odds", InvalidOddsError)
    if abs(value) < 100.0:
        raise InvalidOddsError(f"american odds = {value!r} must be +100 or more, or -100 or less")
    return 1.0 + value / 100.0 if value > 0 else 1.0 + 100.0 / -value


def decimal_to_american(odds: float) -> float:
    """Convert a decimal price to American odds: +100(D-1) from evens up, else -100/(D-1)."""
    price = _validate.price(odds)
    return 100.0 * (price - 1.0) if price >= 2.0 else -100.0 / (price - 1.0)


def fractional_to_decimal(fractional: str) -> float:
    """Convert fractional odds such as "7/4" (or "evens") to a decimal price."""
    if not isinstance(fractional, str):
        raise InvalidOddsError(f"fractional odds = {fractional!r} is not a string like '7/4'")
    if fractional.strip().lower() in _EVENS:
        return 2.0
    match = _FRACTIONAL.fullmatch(fractional)
    if match is None:
        raise InvalidOddsError(f"fractional odds = {fractional!r} is not of the form 'a/b'")
    numerator, denominator = float(match[1]), float(match[2])
    if denominator == 0.0:
        raise InvalidOddsError(f"fractional odds = {fractional!r} has a zero denominator")
    return _validate.price(1.0 + numerator / denominator, f"fractional odds {fractional!r}")


def decimal_to_fractional(odds: float, max_denominator: int = 100) -> str:
    """Convert a decimal price to the nearest fraction "a/b" with b <= max_denominator."""
    price = _validate.price(odds)
    if max_denominator < 1:
        raise InvalidParameterError(f"max_denominator = {max_denominator!r} must be at least 1")
    fraction = Fraction(price - 1.0).limit_denominator(max_denominator)
    if fraction == 0:
        fraction = Fraction(1, max_denominator)  # the shortest price that still shows a profit
    return f"{fraction.numerator}/{fraction.denominator}"


def hong_kong_to_decimal(hong_kong: float) -> float:
    """Convert Hong Kong odds (net profit per unit, D-1) to a decimal price."""
    value = _validate.number(hong_kong, "hong kong odds", InvalidOddsError)
    return _validate.price(value + 1.0, f"hong kong odds {value!r} + 1")


def decimal_to_hong_kong(odds: float) -> float:
    """Convert a decimal price to Hong Kong odds, D-1."""
    return _validate.price(odds) - 1.0


def implied_probability(odds: float) -> float:
    """Return the probability a price implies, 1/D, margin included."""
    return 1.0 / _validate.price(odds)


def probability_to_decimal(probability: float) -> float:
    """Return the fair decimal price 1/p of a probability in (0, 1)."""
    value = _validate.probability(probability)
    if value in (0.0, 1.0):
        raise InvalidProbabilityError(f"probability = {value!r} has no decimal price above 1")
    return 1.0 / value


def overround(odds: Floats) -> float:
    """Return the booksum B = sum(1/D) of a market's prices."""
    return float((1.0 / _validate.prices(odds)).sum())


def margin(odds: Floats) -> float:
    """Return the bookmaker's margin B - 1 of a market's prices."""
    return overround(odds) - 1.0


def hold(odds: Floats) -> float:
    """Return the hold 1 - 1/B: the share of a balanced book's stakes the bookmaker keeps."""
    return 1.0 - 1.0 / overround(odds)
