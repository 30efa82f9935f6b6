from __future__ import annotations

import math

import pytest

from a1rt.betting import (
    InvalidOddsError,
    InvalidProbabilityError,
    devig,
    fair_clv,
    price_clv,
    probability_clv,
)


def test_price_clv_is_the_ratio_of_prices_minus_one() -> None:
    assert price_clv(2.2, 2.0) == pytest.approx(0.1)
    assert price_clv(1.9, 2.0) == pytest.approx(-0.05)


def test_probability_clv_is_close_probability_minus_bet_implied() -> None:
    assert probability_clv(2.2, 0.5) == pytest.approx(0.5 - 1 / 2.2)


def test_fair_clv_is_the_expected_roi_against_the_devigged_close() -> None:
    close = devig([1.95, 1.95])[0]
    assert close == pytest.approx(0.5)
    assert fair_clv(2.1, close) == pytest.approx(0.05)


def test_fair_clv_sign_follows_the_bets_value_at_the_close() -> None:
    assert fair_clv(2.0, 0.52) > 0
    assert fair_clv(2.0, 0.48) < 0


@pytest.mark.parametrize(
    ("bet", "close", "message"),
    [(1.0, 2.0, "bet_odds = 1.0"), (2.0, math.nan, "close_odds = nan"), (0.5, 2.0, "bet_odds")],
)
def test_price_clv_rejects_bad_prices(bet: float, close: float, message: str) -> None:
    with pytest.raises(InvalidOddsError, match=message):
        price_clv(bet, close)


@pytest.mark.parametrize("function", [probability_clv, fair_clv])
def test_probability_clvs_reject_bad_inputs(function: object) -> None:
    assert callable(function)
    with pytest.raises(InvalidOddsError, match="bet_odds = 1.0"):
        function(1.0, 0.5)
    with pytest.raises(InvalidProbabilityError, match="probability = 1.5"):
        function(2.0, 1.5)
