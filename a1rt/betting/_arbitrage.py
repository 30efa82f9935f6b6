"""Arbitrage (surebets): equal-payout stakes on every outcome at the best prices (§2.5)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _validate
from ._exceptions import InvalidParameterError
from ._validate import FloatArray, Floats


@dataclass(frozen=True, slots=True)
class Arbitrage:
    """Equal-payout stakes on all outcomes of one event, and what they return."""

    is_arb: bool  # booksum < 1: before rounding, every outcome returns more than the outlay
    booksum: float  # sum of 1/D' over the prices after commission
    effective_odds: tuple[float, ...]  # D' = 1 + (D - 1)(1 - c): the price net of commission
    stakes: tuple[float, ...]  # the outlay split as (1/D'_i) / booksum
    payout: float  # what any outcome returns on `stakes`: outlay / booksum
    profit: float  # payout - outlay, the same whatever happens
    rounded_stakes: tuple[float, ...] | None  # stakes to the nearest multiple of unit, if given
    worst_case_profit: float  # least profit over outcomes of the stakes placed (rounded if given)


def arbitrage(
    best_odds: Floats,
    stake: float = 1.0,
    commission: float | Sequence[float] | None = None,
    unit: float | None = None,
) -> Arbitrage:
    """Split `stake` over one event's best prices so every outcome pays the same."""
    prices = _after_commission(_validate.prices(best_odds, "best_odds", minimum=2), commission)
    outlay = _validate.positive(stake, "stake")
    booksum = float((1.0 / prices).sum())
    stakes = outlay / prices / booksum
    rounded = None if unit is None else _rounded(stakes, _validate.positive(unit, "unit"))
    return Arbitrage(
        is_arb=booksum < 1.0,
        booksum=booksum,
        effective_odds=_floats(prices),
        stakes=_floats(stakes),
        payout=outlay / booksum,
        profit=outlay / booksum - outlay,
        rounded_stakes=None if rounded is None else _floats(rounded),
        worst_case_profit=_worst_case_profit(stakes if rounded is None else rounded, prices),
    )


def _after_commission(prices: FloatArray, commission: float | Sequence[float] | None) -> FloatArray:
    if commission is None:
        return prices
    rates = _commission_rates(commission, prices.size)
    return 1.0 + (prices - 1.0) * (1.0 - rates)


def _commission_rates(commission: float | Sequence[float], size: int) -> FloatArray:
    if isinstance(commission, numbers.Real):
        rate = _validate.number(commission, "commission", InvalidParameterError)
        rates = np.full(size, rate)
    else:
        rates = _validate.vector(commission, "commission", InvalidParameterError)
        if rates.size != size:
            raise InvalidParameterError(
                f"commission needs one rate per outcome ({size}), got {rates.size}"
            )
    if np.any((rates < 0.0) | (rates >= 1.0)):
        raise InvalidParameterError(f"commission must be within [0, 1), got {commission!r}")
    return rates


def _rounded(stakes: FloatArray, unit: float) -> FloatArray:
    return np.round(stakes / unit) * unit


def _worst_case_profit(stakes: FloatArray, prices: FloatArray) -> float:
    return float((stakes * prices).min() - stakes.sum())


def _floats(values: FloatArray) -> tuple[float, ...]:
    return tuple(float(value) for value in values)
