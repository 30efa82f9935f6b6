"""Input checks shared by the betting modules; every bad input leaves here as a BettingError."""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._exceptions import (
    BettingError,
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
)

FloatArray = npt.NDArray[np.float64]
Floats = Sequence[float] | npt.NDArray[Any]

# Probabilities that should sum to 1 may miss it by this much (float round-off, rounded inputs).
SUM_TOLERANCE = 1e-9


def number(value: object, name: str, error: type[BettingError]) -> float:
    """Return value as a finite float, or raise `error` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{name} = {value!r} is not a number")
    try:
        result = float(value)
    except OverflowError as exc:  # an int beyond float range
        raise error(f"{name} = {reprlib.repr(value)} is too large") from exc
    if not math.isfinite(result):
        raise error(f"{name} = {result!r} is not finite")
    return result


def price(value: object, name: str = "odds") -> float:
    """Return a decimal price, which must be finite and above 1."""
    result = number(value, name, InvalidOddsError)
    if result <= 1.0:
        raise InvalidOddsError(f"{name} = {result!r} is not a decimal price above 1")
    return result


def probability(value: object, name: str = "probability") -> float:
    """Return a probability, which must be finite and within [0, 1]."""
    result = number(value, name, InvalidProbabilityError)
    if not 0.0 <= result <= 1.0:
        raise InvalidProbabilityError(f"{name} = {result!r} is not within [0, 1]")
    return result


def positive(value: object, name: str) -> float:
    """Return a finite parameter above 0."""
    result = number(value, name, InvalidParameterError)
    if result <= 0.0:
        raise InvalidParameterError(f"{name} = {result!r} must be above 0")
    return result


def vector(values: object, name: str, error: type[BettingError], minimum: int = 1) -> FloatArray:
    """Return values as a 1-D float array of finite numbers with at least `minimum` entries."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:  # numpy: ragged nesting and the like
        raise error(f"{name} must be a sequence of numbers, got {reprlib.repr(values)}") from exc
    if array.dtype.kind not in "iuf":
        raise error(f"{name} must be a sequence of numbers, got {reprlib.repr(values)}")
    if array.ndim != 1:
        raise error(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < minimum:
        raise InvalidMarketError(f"{name} needs at least {minimum} outcome(s), got {array.size}")
    result = array.astype(np.float64)
    _reject_first(result, ~np.isfinite(result), name, "is not finite", error)
    return result


def prices(values: object, name: str = "odds", minimum: int = 1) -> FloatArray:
    """Return an array of decimal prices, each finite and above 1."""
    result = vector(values, name, InvalidOddsError, minimum)
    _reject_first(result, result <= 1.0, name, "is not a decimal price above 1", InvalidOddsError)
    return result


def probabilities(values: object, name: str = "probabilities", minimum: int = 1) -> FloatArray:
    """Return an array of probabilities, each within [0, 1]."""
    result = vector(values, name, InvalidProbabilityError, minimum)
    outside = (result < 0.0) | (result > 1.0)
    _reject_first(result, outside, name, "is not within [0, 1]", InvalidProbabilityError)
    return result


def distribution(values: object, name: str = "probabilities", minimum: int = 1) -> FloatArray:
    """Return probabilities that sum to 1 within SUM_TOLERANCE."""
    result = probabilities(values, name, minimum)
    total = float(result.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise InvalidProbabilityError(f"{name} must sum to 1, got {total!r}")
    return result


def same_length(first: FloatArray, second: FloatArray, names: str) -> None:
    """Raise unless two per-outcome arrays have the same length."""
    if first.size != second.size:
        raise InvalidMarketError(
            f"{names} must have one entry per outcome each, got {first.size} and {second.size}"
        )


def _reject_first(
    values: FloatArray,
    bad: npt.NDArray[np.bool_],
    name: str,
    problem: str,
    error: type[BettingError],
) -> None:
    indices = np.flatnonzero(bad)
    if indices.size:
        index = int(indices[0])
        raise error(f"{name}[{index}] = {float(values[index])!r} {problem}")
