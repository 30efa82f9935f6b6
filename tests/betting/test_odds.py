from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1rt.betting import (
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
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

prices = st.floats(min_value=1.001, max_value=1000.0)


@pytest.mark.parametrize(
    ("american", "decimal"),
    [(170.0, 2.70), (-125.0, 1.80), (-110.0, 1.909091), (100.0, 2.0), (-100.0, 2.0)],
)
def test_american_to_decimal_matches_reference_vectors(american: float, decimal: float) -> None:
    assert american_to_decimal(american) == pytest.approx(decimal, abs=5e-7)


@pytest.mark.parametrize(
    ("decimal", "american"), [(2.70, 170.0), (1.80, -125.0), (2.0, 100.0), (1.5, -200.0)]
)
def test_decimal_to_american_uses_plus_from_evens_and_minus_below(
    decimal: float, american: float
) -> None:
    assert decimal_to_american(decimal) == pytest.approx(american)


def test_implied_probability_of_minus_110_is_the_break_even_rate() -> None:
    assert implied_probability(american_to_decimal(-110.0)) == pytest.approx(0.5238, abs=5e-5)


@given(prices)
def test_american_round_trips_through_decimal(decimal: float) -> None:
    assert american_to_decimal(decimal_to_american(decimal)) == pytest.approx(decimal, rel=1e-12)


@pytest.mark.parametrize(
    ("fractional", "decimal"),
    [("7/4", 2.75), ("1/1", 2.0), ("10/11", 1.909091), (" 5 / 2 ", 3.5), ("evens", 2.0)],
)
def test_fractional_to_decimal_adds_one_to_the_fraction(fractional: str, decimal: float) -> None:
    assert fractional_to_decimal(fractional) == pytest.approx(decimal, abs=5e-7)


@pytest.mark.parametrize(
    ("decimal", "fractional"), [(2.75, "7/4"), (1.9091, "10/11"), (2.0, "1/1"), (1.2, "1/5")]
)
def test_decimal_to_fractional_finds_the_nearest_small_fraction(
    decimal: float, fractional: str
) -> None:
    assert decimal_to_fractional(decimal) == fractional


def test_decimal_to_fractional_never_returns_a_zero_fraction() -> None:
    assert decimal_to_fractional(1.001, max_denominator=10) == "1/10"


@given(prices)
def test_hong_kong_round_trips_through_decimal(decimal: float) -> None:
    assert decimal_to_hong_kong(decimal) == pytest.approx(decimal - 1.0)
    assert hong_kong_to_decimal(decimal_to_hong_kong(decimal)) == pytest.approx(decimal)


def test_probability_to_decimal_is_the_fair_price() -> None:
    assert probability_to_decimal(0.4) == pytest.approx(2.5)


def test_overround_margin_hold_of_minus_110_both_ways() -> None:
    market = [american_to_decimal(-110.0)] * 2
    assert overround(market) == pytest.approx(1.0476, abs=5e-5)
    assert margin(market) == pytest.approx(0.0476, abs=5e-5)
    assert hold(market) == pytest.approx(0.0455, abs=5e-5)


def test_margin_of_three_way_reference_market() -> None:
    assert margin([2.7, 2.3, 4.4]) == pytest.approx(0.0324, abs=5e-5)


@pytest.mark.parametrize("bad", [1.0, 0.0, 0.5, -2.0, math.nan, math.inf])
def test_decimal_conversions_reject_prices_at_or_below_one_or_not_finite(bad: float) -> None:
    for convert in (decimal_to_american, decimal_to_fractional, decimal_to_hong_kong):
        with pytest.raises(InvalidOddsError, match="odds"):
            convert(bad)
    with pytest.raises(InvalidOddsError, match="odds"):
        implied_probability(bad)


@pytest.mark.parametrize("bad", ["2.5", None, True])
def test_decimal_conversions_reject_non_numbers(bad: object) -> None:
    with pytest.raises(InvalidOddsError, match="not a number"):
        implied_probability(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0.0, 50.0, -99.0, math.nan])
def test_american_to_decimal_rejects_odds_between_minus_and_plus_100(bad: float) -> None:
    with pytest.raises(InvalidOddsError, match="american odds"):
        american_to_decimal(bad)


@pytest.mark.parametrize("bad", ["7-4", "abc", "7/0", "0/5", "-7/4", "", "7/4/2"])
def test_fractional_to_decimal_rejects_malformed_or_non_positive_fractions(bad: str) -> None:
    with pytest.raises(InvalidOddsError, match="fractional odds"):
        fractional_to_decimal(bad)


def test_fractional_to_decimal_rejects_non_strings() -> None:
    with pytest.raises(InvalidOddsError, match="not a string"):
        fractional_to_decimal(1.75)  # type: ignore[arg-type]


def test_decimal_to_fractional_rejects_a_denominator_below_one() -> None:
    with pytest.raises(InvalidParameterError, match="max_denominator"):
        decimal_to_fractional(2.0, max_denominator=0)


@pytest.mark.parametrize("bad", [0.0, -0.5, math.nan])
def test_hong_kong_to_decimal_rejects_non_positive_odds(bad: float) -> None:
    with pytest.raises(InvalidOddsError, match="hong kong odds"):
        hong_kong_to_decimal(bad)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_probability_to_decimal_rejects_probabilities_without_a_price(bad: float) -> None:
    with pytest.raises(InvalidProbabilityError, match="probability"):
        probability_to_decimal(bad)


def test_overround_names_the_bad_price_in_a_market() -> None:
    with pytest.raises(InvalidOddsError, match=r"odds\[1\] = 1\.0 "):
        overround([2.0, 1.0, 3.0])
    with pytest.raises(InvalidOddsError, match=r"odds\[2\] = nan"):
        overround([2.0, 3.0, math.nan])


def test_overround_rejects_an_empty_market() -> None:
    with pytest.raises(InvalidMarketError, match="at least 1"):
        overround([])
