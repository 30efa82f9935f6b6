"""Closing line value: how a bet's price compares with the market's close (betting-math §2.6)."""

from __future__ import annotations

from . import _validate


def price_clv(bet_odds: float, close_odds: float) -> float:
    """Return the bet's price relative to the closing price, D_bet/D_close - 1."""
    return _validate.price(bet_odds, "bet_odds") / _validate.price(close_odds, "close_odds") - 1.0


def probability_clv(bet_odds: float, close_probability: float) -> float:
    """Return the closing probability minus the bet's implied probability, p_close - 1/D_bet."""
    close = _validate.probability(close_probability, "close_probability")
    return close - 1.0 / _validate.price(bet_odds, "bet_odds")


def fair_clv(bet_odds: float, close_fair_probability: float) -> float:
    """Return the bet's expected ROI if the devigged close is the truth, D_bet*p_fair - 1."""
    fair = _validate.probability(close_fair_probability, "close_fair_probability")
    return _validate.price(bet_odds, "bet_odds") * fair - 1.0
