from __future__ import annotations

import importlib
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from a1rt.betting import (
    ConvergenceError,
    InfeasibleMarginError,
    InvalidMarketError,
    InvalidOddsError,
    InvalidParameterError,
    InvalidProbabilityError,
    UnknownMethodError,
    _roots,
    apply_margin,
    devig,
    overround,
)

# The package re-exports the function `devig`, which shadows the module of the same name.
devig_module = importlib.import_module("a1rt.betting._devig")

FloatArray = npt.NDArray[np.float64]

METHODS = ["multiplicative", "additive", "power", "shin", "odds_ratio"]
REFERENCE_ODDS = (2.7, 2.3, 4.4)
REFERENCE_IMPLIED = 1.0 / np.array(REFERENCE_ODDS)

markets = st.lists(st.floats(min_value=1.01, max_value=100.0), min_size=2, max_size=8)
weights = st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=2, max_size=8)
margins = st.floats(min_value=0.0, max_value=0.2)


def shin_plain_fixed_point(odds: tuple[float, ...], iterations: int = 10_000) -> FloatArray | None:
    """Jullien-Salanie by the book: z <- (sum sqrt(z^2 + 4(1-z) r^2/B) - 2)/(n-2) from z = 0.

    None when it does not settle within `iterations`.
    """
    implied = 1.0 / np.array(odds)
    booksum = implied.sum()
    z = 0.0
    for _ in range(iterations):
        following = (np.sqrt(z**2 + 4 * (1 - z) * implied**2 / booksum).sum() - 2) / (len(odds) - 2)
        if abs(following - z) < 1e-14:
            break
        z = following
    else:
        return None
    fair = (np.sqrt(z**2 + 4 * (1 - z) * implied**2 / booksum) - z) / (2 * (1 - z))
    return np.asarray(fair, dtype=np.float64)


def shin_by_bisection(odds: tuple[float, ...]) -> FloatArray:
    """Shin's p(z) with z bisected until the probabilities sum to 1 (sum p falls as z rises)."""
    implied = 1.0 / np.array(odds)
    booksum = implied.sum()

    def probabilities(z: float) -> FloatArray:
        fair = (np.sqrt(z**2 + 4 * (1 - z) * implied**2 / booksum) - z) / (2 * (1 - z))
        return np.asarray(fair, dtype=np.float64)

    low, high = 0.0, 0.999
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if probabilities(middle).sum() > 1 else (low, middle)
    return probabilities((low + high) / 2)


def test_devig_multiplicative_matches_reference_vector() -> None:
    fair = devig(REFERENCE_ODDS, "multiplicative")
    np.testing.assert_allclose(fair, [0.358738, 0.421127, 0.220135], atol=5e-7)


def test_devig_additive_matches_reference_vector() -> None:
    fair = devig(REFERENCE_ODDS, "additive")
    np.testing.assert_allclose(fair, [0.35956, 0.42397, 0.21646], atol=5e-6)


def test_devig_additive_equals_margin_weights_proportional_to_odds() -> None:
    odds = np.array(REFERENCE_ODDS)
    n, margin = len(odds), overround(REFERENCE_ODDS) - 1
    wpo = (n - margin * odds) / (n * odds)
    np.testing.assert_allclose(devig(REFERENCE_ODDS, "additive"), wpo, atol=1e-15)


def test_devig_power_matches_reference_vector_and_exponent() -> None:
    fair = devig(REFERENCE_ODDS, "power")
    np.testing.assert_allclose(fair, [0.35917, 0.42373, 0.21710], atol=5e-6)
    exponents = np.log(fair) / np.log(REFERENCE_IMPLIED)
    np.testing.assert_allclose(exponents, 1.03091, atol=5e-6)


def test_devig_odds_ratio_matches_reference_vector_and_ratio() -> None:
    fair = devig(REFERENCE_ODDS, "odds_ratio")
    np.testing.assert_allclose(fair, [0.35881, 0.42256, 0.21863], atol=5e-6)
    ratios = REFERENCE_IMPLIED * (1 - fair) / (fair * (1 - REFERENCE_IMPLIED))
    np.testing.assert_allclose(ratios, 1.05117, atol=5e-6)


@pytest.mark.parametrize("odds", [(1.5, 2.6), (1.91, 1.91), (1.05, 9.0), (3.1, 1.36), (1.2, 4.2)])
def test_devig_shin_two_way_equals_additive(odds: tuple[float, float]) -> None:
    np.testing.assert_allclose(devig(odds, "shin"), devig(odds, "additive"), atol=1e-15)


@pytest.mark.parametrize(
    "odds",
    [REFERENCE_ODDS, (1.45, 4.5, 7.5), (2.05, 3.4, 3.6), (1.12, 8.5, 21.0), (5.5, 4.0, 1.6)],
)
def test_devig_shin_three_way_matches_plain_fixed_point(odds: tuple[float, ...]) -> None:
    reference = shin_plain_fixed_point(odds)
    assert reference is not None
    np.testing.assert_allclose(devig(odds, "shin"), reference, atol=1e-10)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(min_value=0.02, max_value=1.0), min_size=3, max_size=3),
    st.floats(min_value=0.0, max_value=0.25),
)
def test_devig_shin_three_way_random_markets_match_plain_fixed_point(
    shares: list[float], margin: float
) -> None:
    fair = np.array(shares) / sum(shares)
    assume(fair.max() <= 0.75)
    odds = tuple(1.0 / (fair * (1 + margin)))
    reference = shin_plain_fixed_point(odds)
    assume(reference is not None)  # low margins are covered by the bisection test below
    assert reference is not None
    np.testing.assert_allclose(devig(odds, "shin"), reference, atol=1e-9)


@pytest.mark.parametrize(
    "odds",
    [(2.62, 3.48, 2.9), (1.95, 3.6, 4.55), (4.8, 3.95, 1.85), (2.5, 3.4, 3.15), (1.7, 4.0, 6.0)],
)
def test_devig_shin_solves_low_margin_three_way_markets_plain_iteration_cannot(
    odds: tuple[float, ...],
) -> None:
    # Margins of 0.2-1.4%: there the plain iteration oscillates (g' near -1) past 1000 steps.
    assert shin_plain_fixed_point(odds, iterations=1000) is None
    fair = devig(odds, "shin")
    np.testing.assert_allclose(fair, shin_by_bisection(odds), atol=1e-10)
    implied = 1.0 / np.array(odds)
    shares = (implied**2 / implied.sum() - fair**2) / (fair - fair**2)
    np.testing.assert_allclose(shares, shares[0], atol=1e-10)  # one insider share fits all


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=150, deadline=None)
@given(odds=markets)
def test_devig_probabilities_sum_to_one_and_keep_price_order(
    method: str, odds: list[float]
) -> None:
    implied = 1.0 / np.array(odds)
    if method == "shin":
        assume(1.0 <= implied.sum() <= 2.0)  # above ~2.25 the fixed point leaves [0, 1): see below
    if method == "additive":
        assume(implied.min() >= (implied.sum() - 1) / len(odds))
    fair = devig(odds, method)  # type: ignore[arg-type]
    assert fair.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(fair >= 0.0)
    order = np.argsort(odds, kind="stable")
    assert np.all(np.diff(fair[order]) <= 1e-12)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=150, deadline=None)
@given(shares=weights, margin=margins)
def test_devig_inverts_apply_margin(method: str, shares: list[float], margin: float) -> None:
    fair = np.array(shares) / sum(shares)
    assume(fair.max() <= 0.8)
    prices = apply_margin(fair, margin, method)  # type: ignore[arg-type]
    assert overround(prices) == pytest.approx(1.0 + margin, abs=1e-9)
    np.testing.assert_allclose(devig(prices, method), fair, atol=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
def test_apply_margin_prices_long_shots_and_round_trips(method: str) -> None:
    fair = np.array([0.6, 0.3, 0.08, 0.015, 0.005])
    prices = apply_margin(fair, 0.07, method)  # type: ignore[arg-type]
    assert overround(prices) == pytest.approx(1.07, abs=1e-9)
    np.testing.assert_allclose(devig(prices, method), fair, atol=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
def test_apply_margin_zero_gives_fair_prices(method: str) -> None:
    fair = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(apply_margin(fair, 0.0, method), 1 / fair, rtol=1e-9)  # type: ignore[arg-type]


def test_apply_margin_shin_two_way_equals_additive() -> None:
    fair = [0.7, 0.3]
    np.testing.assert_allclose(
        apply_margin(fair, 0.05, "shin"), apply_margin(fair, 0.05, "additive"), rtol=1e-10
    )


def test_apply_margin_power_loads_margin_on_long_shots() -> None:
    fair = np.array([0.8, 0.15, 0.05])
    power = 1 / apply_margin(fair, 0.06, "power")
    multiplicative = 1 / apply_margin(fair, 0.06, "multiplicative")
    assert power[2] / fair[2] > multiplicative[2] / fair[2]
    assert power[0] / fair[0] < multiplicative[0] / fair[0]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("odds", "message"),
    [
        ([2.0, 1.0, 3.0], r"odds\[1\] = 1\.0 is not a decimal price above 1"),
        ([2.0, 0.0], r"odds\[1\] = 0\.0 is not a decimal price above 1"),
        ([math.nan, 2.0], r"odds\[0\] = nan is not finite"),
        ([2.0, math.inf], r"odds\[1\] = inf is not finite"),
    ],
)
def test_devig_rejects_bad_prices_naming_the_outcome(
    method: str, odds: list[float], message: str
) -> None:
    with pytest.raises(InvalidOddsError, match=message):
        devig(odds, method)  # type: ignore[arg-type]


@pytest.mark.parametrize("odds", [[], [2.0]])
def test_devig_rejects_markets_with_fewer_than_two_outcomes(odds: list[float]) -> None:
    with pytest.raises(InvalidMarketError, match="at least 2 outcome"):
        devig(odds)


@pytest.mark.parametrize("odds", [["2.0", "3.0"], [[2.0, 3.0]], 2.0, None])
def test_devig_rejects_odds_that_are_not_a_list_of_numbers(odds: object) -> None:
    with pytest.raises(InvalidOddsError, match="odds"):
        devig(odds)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["basic", "Shin", "", None])
def test_devig_rejects_unknown_methods_naming_the_known_ones(method: object) -> None:
    with pytest.raises(UnknownMethodError, match=r"unknown margin method .*odds_ratio"):
        devig([2.0, 2.0], method)  # type: ignore[arg-type]
    with pytest.raises(UnknownMethodError, match="unknown margin method"):
        apply_margin([0.5, 0.5], 0.05, method)  # type: ignore[arg-type]


def test_devig_additive_refuses_negative_probabilities() -> None:
    with pytest.raises(InfeasibleMarginError, match="outcome 2 a negative probability"):
        devig([1.2, 4.0, 60.0], "additive")


def test_devig_shin_refuses_a_booksum_below_one() -> None:
    with pytest.raises(InfeasibleMarginError, match="booksum of at least 1"):
        devig([2.9, 2.4, 4.6], "shin")


@pytest.mark.parametrize("method", ["multiplicative", "power", "odds_ratio"])
def test_devig_removes_a_negative_margin_too(method: str) -> None:
    fair = devig([2.9, 2.4, 4.6], method)  # type: ignore[arg-type]
    assert fair.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("margin", [-0.01, math.nan, math.inf])
def test_apply_margin_rejects_negative_or_non_finite_margins(margin: float) -> None:
    with pytest.raises(InvalidParameterError, match="margin"):
        apply_margin([0.5, 0.5], margin)


@pytest.mark.parametrize(
    ("probabilities", "message"),
    [
        ([0.5, 0.4], "must sum to 1"),
        ([0.5, 0.5, 0.0], r"probabilities\[2\] = 0\.0 has no price"),
        ([1.2, -0.2], r"probabilities\[0\] = 1\.2 is not within \[0, 1\]"),
        ([0.5, math.nan], r"probabilities\[1\] = nan is not finite"),
    ],
)
def test_apply_margin_rejects_bad_probabilities(probabilities: list[float], message: str) -> None:
    with pytest.raises(InvalidProbabilityError, match=message):
        apply_margin(probabilities, 0.05)


@pytest.mark.parametrize(
    ("method", "probabilities", "margin", "message"),
    [
        ("multiplicative", [0.95, 0.05], 0.1, "prices outcome 0"),
        ("additive", [0.97, 0.03], 0.1, "prices outcome 0"),
        ("power", [0.5, 0.5], 1.0, "over 2 outcomes"),
        ("odds_ratio", [0.6, 0.4], 1.5, "over 2 outcomes"),
        ("shin", [0.99, 0.01], 0.5, "cannot reach a margin"),
    ],
)
def test_apply_margin_refuses_margins_a_method_cannot_carry(
    method: str, probabilities: list[float], margin: float, message: str
) -> None:
    with pytest.raises(InfeasibleMarginError, match=message):
        apply_margin(probabilities, margin, method)  # type: ignore[arg-type]


def test_devig_shin_raises_when_fixed_point_exceeds_its_iteration_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(devig_module, "_SHIN_MAX_ITERATIONS", 2)
    with pytest.raises(ConvergenceError, match="shin's fixed point did not converge"):
        devig(REFERENCE_ODDS, "shin")


def test_devig_shin_raises_when_fixed_point_leaves_the_unit_interval() -> None:
    with pytest.raises(ConvergenceError, match=r"left \[0, 1\)"):
        devig([1.646, 1.449, 1.047], "shin")  # a booksum of 2.25


@pytest.mark.parametrize("method", ["power", "odds_ratio"])
def test_devig_raises_when_root_finder_exceeds_its_iteration_limit(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_roots, "_MAX_ITERATIONS", 2)
    with pytest.raises(ConvergenceError, match="did not converge"):
        devig(REFERENCE_ODDS, method)  # type: ignore[arg-type]
