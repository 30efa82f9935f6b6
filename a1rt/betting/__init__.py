"""Odds math for bots and the pipeline: formats, margin removal, EV, Kelly, arbitrage, CLV.

Pure functions over decimal prices (total return per unit staked, above 1); no I/O. Every bad
input raises a subclass of `BettingError`, itself a `ValueError`.
"""

from __future__ import annotations

from ._arbitrage import Arbitrage, arbitrage
from ._clv import fair_clv, price_clv, probability_clv
from ._devig import Method, apply_margin, devig
from ._exceptions import (
    BettingError,
    ConvergenceError,
    InfeasibleMarginError,
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
    UnknownMethodError,
)
from ._kelly import expected_log_growth, kelly, kelly_single
from ._middle import Middle, MiddleRegion, middle
from ._odds import (
    american_to_decimal,
    decimal_to_american,
    decimal_to_fractional,
    decimal_to_hong_kong,
    fractional_to_decimal,
    hold,
    hong_kong_to_decimal,
    implied_probability,
    margin,
    overround,
    probability_to_decimal,
)
from ._value import edge, expected_value, is_value_bet

__all__ = [
    "Arbitrage",
    "BettingError",
    "ConvergenceError",
    "InfeasibleMarginError",
    "InvalidMarketError",
    "InvalidOddsError",
    "InvalidParameterError",
    "InvalidProbabilityError",
    "Method",
    "Middle",
    "MiddleRegion",
    "UnknownMethodError",
    "american_to_decimal",
    "apply_margin",
    "arbitrage",
    "decimal_to_american",
    "decimal_to_fractional",
    "decimal_to_hong_kong",
    "devig",
    "edge",
    "expected_log_growth",
    "expected_value",
    "fair_clv",
    "fractional_to_decimal",
    "hold",
    "hong_kong_to_decimal",
    "implied_probability",
    "is_value_bet",
    "kelly",
    "kelly_single",
    "margin",
    "middle",
    "overround",
    "price_clv",
    "probability_clv",
    "probability_to_decimal",
]
