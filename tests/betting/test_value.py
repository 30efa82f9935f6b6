from __future__ import annotations

import math

import pytest

from a1rt.betting import (
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
    edge,
    expected_value,
    is_value_bet,
)


@pytest.mark.parametrize(
    ("p", "odds", "ev"), [(0.5, 2.1, 0.05), (0.4, 2.0, -0.2), (0.5238095, 1.9090909, 0.0)]
)
def test_expected_value_is_p_times_price_minus_one(p: float, odds: float, ev: float) -> None:
    assert expected_value(p, odds) == pytest.approx(ev, abs=1e-7)


def test_expected_value_equals_win_minus_loss_form() -> None:
    p, odds = 0.37, 2.9
    assert expected_value(p, odds) == pytest.approx(p * (odds - 1) - (1 - p))


def test_edge_is_probability_minus_implied() -> None:
    assert edge(0.55, 2.0) == pytest.approx(0.05)
    assert edge(0.45, 2.0) == pytest.approx(-0.05)


def test_is_value_bet_needs_the_edge_to_beat_the_threshold() -> None:
    assert is_value_bet(0.55, 2.0)
    assert not is_value_bet(0.5, 2.0)
    assert not is_value_bet(0.55, 2.0, min_edge=0.06)


@pytest.mark.parametrize("odds", [1.0, 0.9, math.nan, math.inf])
def test_value_functions_reject_bad_prices(odds: float) -> None:
    for function in (expected_value, edge, is_value_bet):
        with pytest.raises(InvalidOddsError, match="odds"):
            function(0.5, odds)


@pytest.mark.parametrize("p", [-0.1, 1.1, math.nan])
def test_value_functions_reject_bad_probabilities(p: float) -> None:
    for function in (expected_value, edge, is_value_bet):
        with pytest.raises(InvalidProbabilityError, match="probability"):
            function(p, 2.0)


def test_is_value_bet_rejects_a_non_finite_threshold() -> None:
    with pytest.raises(InvalidParameterError, match="min_edge"):
        is_value_bet(0.5, 2.0, min_edge=math.nan)
