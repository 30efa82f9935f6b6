from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a1rt.betting import (
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
    expected_log_growth,
    expected_value,
    kelly,
    kelly_single,
)

FloatArray = npt.NDArray[np.float64]


def log_growth(p: FloatArray, odds: FloatArray, stakes: FloatArray) -> FloatArray:
    """E[ln wealth] for each row of `stakes`, written out independently of the package."""
    kept = 1.0 - stakes.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = sum(p[i] * np.log(kept + stakes[:, i] * odds[i]) for i in range(len(p)))
        unlisted = 1.0 - p.sum()
        if unlisted > 1e-12:
            growth = growth + unlisted * np.log(kept)
    return np.where(np.isnan(growth), -np.inf, growth)


def simplex_grid(centre: FloatArray, radius: float, step: float) -> FloatArray:
    """Stake vectors s >= 0 with sum(s) <= 1 on a grid around `centre`."""
    axes = [np.arange(max(c - radius, 0.0), min(c + radius, 1.0) + step / 2, step) for c in centre]
    grid = np.array(list(itertools.product(*axes)), dtype=np.float64)
    return np.asarray(grid[grid.sum(axis=1) <= 1.0 + 1e-12], dtype=np.float64)


def brute_force_kelly(p: list[float], odds: list[float]) -> FloatArray:
    """Maximise expected log growth over a grid of stakes, refined around the best point."""
    chances, prices = np.array(p), np.array(odds)
    best = np.full(len(p), 0.5)
    for radius, step in [(0.5, 0.02), (0.04, 0.002), (0.004, 0.0002)]:
        grid = simplex_grid(best, radius, step)
        best = grid[np.argmax(log_growth(chances, prices, grid))]
    return best


CASES = [
    pytest.param([0.6, 0.4], [1.9, 2.05], id="two-way-one-bet"),
    pytest.param([0.5, 0.5], [2.1, 2.1], id="two-way-arb"),
    pytest.param([0.45, 0.35], [2.5, 3.2], id="two-of-three-listed"),
    pytest.param([0.5, 0.3, 0.2], [2.4, 3.1, 3.5], id="three-way-negative-ev-hedge"),
    pytest.param([0.4, 0.35, 0.25], [2.8, 3.0, 3.6], id="three-way-two-bets"),
    pytest.param([0.2, 0.3, 0.5], [3.0, 2.9, 1.9], id="three-way-no-edge"),
]


@pytest.mark.parametrize(("p", "odds"), CASES)
def test_kelly_matches_brute_force_grid_search(p: list[float], odds: list[float]) -> None:
    stakes = kelly(p, odds)
    grid_best = brute_force_kelly(p, odds)
    np.testing.assert_allclose(stakes, grid_best, atol=1e-3)
    chances, prices = np.array(p), np.array(odds)
    assert (
        log_growth(chances, prices, stakes[None, :])[0]
        >= log_growth(chances, prices, grid_best[None, :])[0] - 1e-12
    )


def test_kelly_stakes_a_negative_ev_outcome_as_a_hedge() -> None:
    p, odds = [0.5, 0.3, 0.2], [2.4, 3.1, 3.5]
    stakes = kelly(p, odds)
    assert expected_value(0.3, 3.1) < 0
    assert stakes[1] > 0.05
    reserve = (1 - 0.5 - 0.3) / (1 - 1 / 2.4 - 1 / 3.1)  # §2.4: R after the two chosen
    np.testing.assert_allclose(stakes, [0.5 - reserve / 2.4, 0.3 - reserve / 3.1, 0.0])


def test_kelly_simultaneous_stakes_differ_from_independent_single_bets() -> None:
    p, odds = [0.45, 0.35], [2.5, 3.2]
    independent = [kelly_single(0.45, 2.5), kelly_single(0.35, 3.2)]
    assert not np.allclose(kelly(p, odds), independent, atol=1e-3)


def test_kelly_stakes_the_probabilities_when_the_book_is_an_arb() -> None:
    p = [0.5, 0.3, 0.2]
    np.testing.assert_allclose(kelly(p, [2.2, 3.5, 5.5]), p, atol=1e-15)


@pytest.mark.parametrize(
    ("p", "odds", "stake"), [(0.6, 2.0, 0.2), (0.5, 2.0, 0.0), (0.4, 2.0, 0.0), (0.3, 4.0, 0.0667)]
)
def test_kelly_single_is_edge_over_net_odds(p: float, odds: float, stake: float) -> None:
    assert kelly_single(p, odds) == pytest.approx(stake, abs=5e-5)
    assert kelly([p], [odds])[0] == pytest.approx(max(0.0, (p * odds - 1) / (odds - 1)))


def test_kelly_fraction_scales_every_stake() -> None:
    full = kelly([0.5, 0.3, 0.2], [2.4, 3.1, 3.5])
    np.testing.assert_allclose(kelly([0.5, 0.3, 0.2], [2.4, 3.1, 3.5], fraction=0.25), full / 4)


def test_kelly_cap_scales_stakes_down_proportionally() -> None:
    full = kelly([0.5, 0.3, 0.2], [2.4, 3.1, 3.5])
    capped = kelly([0.5, 0.3, 0.2], [2.4, 3.1, 3.5], cap=0.1)
    assert capped.sum() == pytest.approx(0.1)
    np.testing.assert_allclose(capped / capped.sum(), full / full.sum())
    np.testing.assert_array_equal(
        kelly([0.5, 0.5], [2.1, 1.9], cap=0.9), kelly([0.5, 0.5], [2.1, 1.9])
    )


def test_kelly_applies_fraction_before_cap() -> None:
    stakes = kelly([0.5, 0.3, 0.2], [2.4, 3.1, 3.5], fraction=0.5, cap=0.05)
    assert stakes.sum() == pytest.approx(0.05)


@st.composite
def events(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    size = draw(st.integers(min_value=1, max_value=6))
    weights = draw(st.lists(st.floats(0.01, 1.0), min_size=size, max_size=size))
    listed = draw(st.sampled_from([1.0, 1.0, 0.9, 0.5]))
    p = [w / sum(weights) * listed for w in weights]
    odds = draw(st.lists(st.floats(1.01, 30.0), min_size=size, max_size=size))
    return p, odds


@settings(max_examples=300, deadline=None)
@given(events(), st.floats(0.05, 1.0))
def test_kelly_stakes_are_non_negative_and_sum_to_at_most_one(
    event: tuple[list[float], list[float]], fraction: float
) -> None:
    stakes = kelly(*event, fraction=fraction)
    assert np.all(stakes >= 0.0)
    assert stakes.sum() <= 1.0 + 1e-12


@settings(max_examples=300, deadline=None)
@given(events())
def test_kelly_grows_at_least_as_fast_as_nothing_or_any_single_bet(
    event: tuple[list[float], list[float]],
) -> None:
    p, odds = event
    growth = expected_log_growth(p, odds, kelly(p, odds))
    assert growth >= -1e-15
    for index in range(len(p)):
        single = np.zeros(len(p))
        single[index] = kelly_single(p[index], odds[index])
        assert growth >= expected_log_growth(p, odds, single) - 1e-12


def test_expected_log_growth_is_minus_infinity_when_ruin_is_possible() -> None:
    assert expected_log_growth([0.5, 0.5], [2.0, 2.0], [1.0, 0.0]) == -math.inf
    assert expected_log_growth([0.5, 0.3], [2.0, 3.0], [0.5, 0.5]) == -math.inf


def test_expected_log_growth_of_a_sure_arb() -> None:
    growth = expected_log_growth([0.5, 0.5], [2.1, 2.1], [0.5, 0.5])
    assert growth == pytest.approx(math.log(1.05))


@pytest.mark.parametrize(
    ("p", "odds", "error", "message"),
    [
        ([0.5, 0.5], [2.0, 1.0], InvalidOddsError, r"odds\[1\] = 1\.0"),
        ([0.5, 0.5], [2.0, math.nan], InvalidOddsError, r"odds\[1\] = nan"),
        ([0.6, 0.6], [2.0, 2.0], InvalidProbabilityError, "sum to at most 1"),
        ([0.5, math.nan], [2.0, 2.0], InvalidProbabilityError, r"probabilities\[1\] = nan"),
        ([-0.1, 0.5], [2.0, 2.0], InvalidProbabilityError, r"probabilities\[0\] = -0\.1"),
        ([0.5, 0.5], [2.0, 2.0, 2.0], InvalidMarketError, "one entry per outcome"),
        ([], [], InvalidMarketError, "at least 1"),
    ],
)
def test_kelly_rejects_bad_markets_naming_the_problem(
    p: list[float], odds: list[float], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        kelly(p, odds)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"fraction": 0.0}, "fraction"),
        ({"fraction": 1.5}, "fraction"),
        ({"fraction": math.nan}, "fraction"),
        ({"cap": 0.0}, "cap"),
        ({"cap": -1.0}, "cap"),
    ],
)
def test_kelly_rejects_bad_fraction_or_cap(keywords: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        kelly([0.6], [2.0], **keywords)


@pytest.mark.parametrize("stakes", [[0.6, 0.6], [-0.1, 0.1], [0.5]])
def test_expected_log_growth_rejects_impossible_stakes(stakes: list[float]) -> None:
    with pytest.raises(InvalidParameterError, match="stakes"):
        expected_log_growth([0.5, 0.5], [2.0, 2.0], stakes)
