from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a1rt.betting import (
    Arbitrage,
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    arbitrage,
)


def profits_by_outcome(stakes: tuple[float, ...], odds: list[float]) -> list[float]:
    """Net profit of the whole position when each outcome in turn is the one that happens."""
    return [stakes[won] * odds[won] - sum(stakes) for won in range(len(odds))]


def some_split_guarantees_profit(odds: list[float], step: float = 0.01) -> bool:
    """Search every split of one unit over the outcomes for one that profits whatever happens."""
    shares = np.arange(0.0, 1.0 + step / 2, step)
    for split in itertools.product(shares, repeat=len(odds) - 1):
        stakes = (*split, 1.0 - sum(split))
        if stakes[-1] >= 0 and min(profits_by_outcome(stakes, odds)) > 0:
            return True
    return False


def test_arbitrage_two_way_stakes_follow_the_closed_form() -> None:
    result = arbitrage([2.1, 2.2], stake=100.0)
    assert result.stakes[0] == pytest.approx(100.0 * 2.2 / (2.1 + 2.2))
    assert result.stakes[1] == pytest.approx(100.0 * 2.1 / (2.1 + 2.2))
    assert result.booksum == pytest.approx(1 / 2.1 + 1 / 2.2)
    assert result.profit == pytest.approx(100.0 / result.booksum - 100.0)


@pytest.mark.parametrize(
    ("odds", "is_arb"),
    [
        ([2.1, 2.2], True),
        ([1.9, 1.95], False),
        ([2.9, 3.9, 4.2], True),
        ([2.7, 2.3, 4.4], False),
        ([3.4, 3.6, 3.3], True),
    ],
)
def test_arbitrage_agrees_with_exhaustive_outcome_enumeration(
    odds: list[float], is_arb: bool
) -> None:
    result = arbitrage(odds)
    profits = profits_by_outcome(result.stakes, odds)
    assert result.is_arb is is_arb
    assert result.is_arb is some_split_guarantees_profit(odds)
    assert all(profit > 0 for profit in profits) is is_arb
    assert result.worst_case_profit == pytest.approx(min(profits))
    assert profits == pytest.approx([result.profit] * len(odds))


@pytest.mark.parametrize("unit", [1.0, 5.0, 0.5])
def test_arbitrage_worst_case_after_rounding_matches_enumeration(unit: float) -> None:
    odds = [2.9, 3.9, 4.2]
    result = arbitrage(odds, stake=137.0, unit=unit)
    assert result.rounded_stakes is not None
    for stake in result.rounded_stakes:
        assert stake / unit == pytest.approx(round(stake / unit))
    for exact, rounded in zip(result.stakes, result.rounded_stakes, strict=True):
        assert abs(exact - rounded) <= unit / 2 + 1e-9
    profits = profits_by_outcome(result.rounded_stakes, odds)
    assert result.worst_case_profit == pytest.approx(min(profits))
    assert result.worst_case_profit / sum(result.rounded_stakes) <= result.profit / 137.0 + 1e-12


def test_arbitrage_rounding_can_destroy_a_thin_arb() -> None:
    result = arbitrage([2.02, 2.06], stake=3.0, unit=1.0)  # stakes 1.515 and 1.485 -> 2 and 1
    assert result.is_arb
    assert result.worst_case_profit < 0


def test_arbitrage_commission_reduces_the_winnings_of_each_price() -> None:
    result = arbitrage([2.08, 2.02], commission=0.05)
    assert result.effective_odds == pytest.approx((1 + 1.08 * 0.95, 1 + 1.02 * 0.95))
    assert arbitrage([2.08, 2.02]).is_arb
    assert not result.is_arb
    profits = profits_by_outcome(result.stakes, list(result.effective_odds))
    assert result.worst_case_profit == pytest.approx(min(profits))


def test_arbitrage_commission_can_differ_per_outcome() -> None:
    result = arbitrage([2.1, 2.2], commission=[0.0, 0.02])
    assert result.effective_odds == pytest.approx((2.1, 1 + 1.2 * 0.98))


def test_arbitrage_without_unit_has_no_rounded_stakes() -> None:
    result = arbitrage([2.1, 2.2])
    assert result.rounded_stakes is None
    assert result.worst_case_profit == pytest.approx(result.profit)


def test_arbitrage_result_is_immutable() -> None:
    result = arbitrage([2.1, 2.2])
    assert isinstance(result, Arbitrage)
    with pytest.raises(AttributeError):
        result.is_arb = False  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(1.01, 50.0), min_size=2, max_size=8),
    st.floats(0.01, 1e6),
    st.one_of(st.none(), st.floats(0.0, 0.2)),
)
def test_arbitrage_payout_is_equal_across_outcomes_before_rounding(
    odds: list[float], stake: float, commission: float | None
) -> None:
    result = arbitrage(odds, stake=stake, commission=commission)
    payouts = np.array(result.stakes) * np.array(result.effective_odds)
    np.testing.assert_allclose(payouts, result.payout, rtol=1e-12)
    assert sum(result.stakes) == pytest.approx(stake, rel=1e-12)
    assert result.is_arb is (result.profit > 0)


@pytest.mark.parametrize(
    ("odds", "error", "message"),
    [
        ([2.1, 1.0], InvalidOddsError, r"best_odds\[1\] = 1\.0"),
        ([math.nan, 2.1], InvalidOddsError, r"best_odds\[0\] = nan"),
        ([2.1], InvalidMarketError, "at least 2"),
        ([], InvalidMarketError, "at least 2"),
    ],
)
def test_arbitrage_rejects_bad_prices(
    odds: list[float], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        arbitrage(odds)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"stake": 0.0}, "stake"),
        ({"stake": math.inf}, "stake"),
        ({"unit": -1.0}, "unit"),
        ({"commission": 1.0}, "commission"),
        ({"commission": -0.01}, "commission"),
        ({"commission": [0.05]}, "one rate per outcome"),
        ({"commission": [0.05, math.nan]}, "commission"),
    ],
)
def test_arbitrage_rejects_bad_parameters(keywords: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        arbitrage([2.1, 2.2], **keywords)  # type: ignore[arg-type]
