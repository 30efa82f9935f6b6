from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a1rt.betting import (
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
    MiddleRegion,
    middle,
)

A, B = 1.91, 1.95


def side_pnl(line: float, odds: float, total: int, over: bool) -> float:
    """Net profit of one unit; a quarter line is half a unit on each neighbouring line."""
    if line % 0.5 == 0.25:
        return (
            side_pnl(line - 0.25, odds, total, over) + side_pnl(line + 0.25, odds, total, over)
        ) / 2
    sign = (total > line) - (total < line)
    result = {1: odds - 1.0, 0: 0.0, -1: -1.0}[sign if over else -sign]
    return result


def enumerated_ev(
    over_line: float, a: float, under_line: float, b: float, distribution: dict[int, float]
) -> float:
    return sum(
        chance * (side_pnl(over_line, a, total, True) + side_pnl(under_line, b, total, False))
        for total, chance in distribution.items()
    )


def test_middle_half_lines_have_the_three_regions_of_the_reference() -> None:
    result = middle(44.5, A, 47.5, B, {44: 0.2, 46: 0.3, 48: 0.5})
    assert result.regions == (
        MiddleRegion(None, 44, pytest.approx(B - 2), pytest.approx(0.2)),  # type: ignore[arg-type]
        MiddleRegion(45, 47, pytest.approx(A + B - 2), pytest.approx(0.3)),  # type: ignore[arg-type]
        MiddleRegion(48, None, pytest.approx(A - 2), pytest.approx(0.5)),  # type: ignore[arg-type]
    )
    assert result.ev == pytest.approx(0.2 * (B - 2) + 0.3 * (A + B - 2) + 0.5 * (A - 2))


def test_middle_integer_lines_push_on_the_line() -> None:
    result = middle(44, A, 47, B, {43: 0.1, 44: 0.2, 45: 0.2, 47: 0.2, 48: 0.3})
    assert [(region.lowest, region.highest) for region in result.regions] == [
        (None, 43),
        (44, 44),
        (45, 46),
        (47, 47),
        (48, None),
    ]
    assert [region.pnl for region in result.regions] == pytest.approx(
        [B - 2, B - 1, A + B - 2, A - 1, A - 2]
    )
    assert [region.probability for region in result.regions] == pytest.approx(
        [0.1, 0.2, 0.2, 0.2, 0.3]
    )


def test_middle_quarter_line_settles_half_on_each_neighbour() -> None:
    result = middle(44.25, 2.0, 46.75, 2.0, {44: 0.5, 47: 0.5})
    regions = {(region.lowest, region.highest): region.pnl for region in result.regions}
    assert regions[(44, 44)] == pytest.approx(-0.5 + 1.0)  # over: half lost, half pushed
    assert regions[(47, 47)] == pytest.approx(1.0 - 0.5)  # under: half lost, half pushed
    assert regions[(45, 46)] == pytest.approx(2.0)
    assert result.ev == pytest.approx(0.5)


def test_middle_on_a_spread_uses_the_favourites_margin() -> None:
    # Favourite -2.5 and underdog +3.5: both win when the favourite wins by exactly 3.
    margins = {-7: 0.08, -3: 0.1, 1: 0.12, 3: 0.15, 4: 0.1, 7: 0.3, 10: 0.15}
    result = middle(2.5, 1.91, 3.5, 1.91, margins)
    middle_region = next(region for region in result.regions if region.lowest == 3)
    assert middle_region.highest == 3
    assert middle_region.probability == pytest.approx(0.15)
    assert middle_region.pnl == pytest.approx(1.82)
    assert result.ev == pytest.approx(enumerated_ev(2.5, 1.91, 3.5, 1.91, margins))


def test_middle_with_lines_crossed_loses_both_between_them() -> None:
    result = middle(47.5, A, 44.5, B, {46: 1.0})
    between = next(region for region in result.regions if region.lowest == 45)
    assert (between.highest, between.pnl, between.probability) == (47, -2.0, 1.0)
    assert result.ev == -2.0


lines = st.integers(min_value=120, max_value=240).map(lambda quarters: quarters / 4)


@st.composite
def distributions(draw: st.DrawFn) -> dict[int, float]:
    totals = draw(st.lists(st.integers(25, 65), min_size=1, max_size=20, unique=True))
    weights = draw(st.lists(st.floats(0.01, 1.0), min_size=len(totals), max_size=len(totals)))
    return {total: weight / sum(weights) for total, weight in zip(totals, weights, strict=True)}


@settings(max_examples=300, deadline=None)
@given(lines, st.floats(1.2, 3.0), lines, st.floats(1.2, 3.0), distributions())
def test_middle_ev_matches_direct_enumeration(
    over_line: float, a: float, under_line: float, b: float, distribution: dict[int, float]
) -> None:
    result = middle(over_line, a, under_line, b, distribution)
    assert result.ev == pytest.approx(enumerated_ev(over_line, a, under_line, b, distribution))
    assert sum(region.probability for region in result.regions) == pytest.approx(1.0)
    by_region = sum(region.probability * region.pnl for region in result.regions)
    assert by_region == pytest.approx(result.ev, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(lines, lines)
def test_middle_regions_tile_the_whole_numbers_in_order(
    over_line: float, under_line: float
) -> None:
    regions = middle(over_line, A, under_line, B, {40: 1.0}).regions
    assert regions[0].lowest is None and regions[-1].highest is None
    for before, after in zip(regions, regions[1:], strict=False):
        assert before.highest is not None and after.lowest == before.highest + 1
    for region in regions:
        inside = region.lowest if region.lowest is not None else region.highest
        assert inside is not None
        expected = side_pnl(over_line, A, inside, True) + side_pnl(under_line, B, inside, False)
        assert region.pnl == pytest.approx(expected)


@pytest.mark.parametrize(
    ("distribution", "message"),
    [
        ({}, "non-empty"),
        ({44.5: 1.0}, "not a whole number"),
        ({44: 0.5, 45: 0.4}, "must sum to 1"),
        ({44: 1.2, 45: -0.2}, r"distribution\[44\] = 1\.2"),
        ({44: math.nan}, r"distribution\[44\] = nan"),
        ([0.5, 0.5], "mapping"),
    ],
)
def test_middle_rejects_bad_distributions(distribution: object, message: str) -> None:
    with pytest.raises(InvalidProbabilityError, match=message):
        middle(44.5, A, 47.5, B, distribution)  # type: ignore[arg-type]


def test_middle_rejects_bad_prices_and_lines() -> None:
    with pytest.raises(InvalidOddsError, match="over_odds = 1.0"):
        middle(44.5, 1.0, 47.5, B, {45: 1.0})
    with pytest.raises(InvalidOddsError, match="under_odds = nan"):
        middle(44.5, A, 47.5, math.nan, {45: 1.0})
    with pytest.raises(InvalidParameterError, match="under_line = inf"):
        middle(44.5, A, math.inf, B, {45: 1.0})
