"""Errors raised by a1rt.betting.

BettingError (ValueError)
├── InvalidOddsError
├── InvalidProbabilityError
├── InvalidMarketError
├── InvalidParameterError
├── UnknownMethodError
├── InfeasibleMarginError
└── ConvergenceError
"""

from __future__ import annotations


class BettingError(ValueError):
    """Raised when odds math is given input it cannot price; the root of this package's errors."""


class InvalidOddsError(BettingError):
    """Raised when a price is not a finite decimal price above 1, or cannot be parsed as one."""


class InvalidProbabilityError(BettingError):
    """Raised when a probability is outside [0, 1], not finite, or a set of them sums wrongly."""


class InvalidMarketError(BettingError):
    """Raised when a market has too few outcomes, or its arrays do not line up."""


class InvalidParameterError(BettingError):
    """Raised when a stake, unit, commission, fraction, cap, margin or line is out of range."""


class UnknownMethodError(BettingError):
    """Raised when a margin-removal method is not one this package implements."""


class InfeasibleMarginError(BettingError):
    """Raised when a method cannot remove or apply a margin for these prices or probabilities."""


class ConvergenceError(BettingError):
    """Raised when a numerical solver does not reach its tolerance within its iteration limit."""
