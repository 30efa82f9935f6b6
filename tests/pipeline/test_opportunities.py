"""Value bets, arbitrage, middles and steam, detected from hand-made prices; every number is
checked against its own computation (EV = p*D - 1, equal arbitrage payouts, middle EV summed
over the distribution)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from a1rt.messages import OddsUpdate, OutcomePrice, Prediction
from a1rt.pipeline.opportunities import (
    EventOdds,
    ValueBet,
    arbitrages,
    best_middle,
    median_line,
    score_distribution,
    value_bets,
)
from a1rt.pipeline.steam import SteamTracker, steam_conditions

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
START = NOW + timedelta(hours=3)
HOME, AWAY = "Boston Celtics", "Los Angeles Lakers"


def odds(
    book: str,
    market: str,
    *prices: tuple[str, float, float | None],
    sport: str = "basketball_nba",
    age: float = 0.0,
    home: str = HOME,
    away: str = AWAY,
) -> OddsUpdate:
    return OddsUpdate(
        event_id="ev1", sport=sport, home_team=home, away_team=away, commence_time=START,
        book=book, market=market,  # type: ignore[arg-type]
        outcomes=tuple(OutcomePrice(name=n, price=p, point=pt) for n, p, pt in prices),
        source="test", received_at=NOW - timedelta(seconds=age),
        source_time=NOW - timedelta(hours=1),  # when the book last changed it: not staleness
    )  # fmt: skip


def h2h(book: str, home: float, away: float, **kw: object) -> OddsUpdate:
    return odds(book, "h2h", (HOME, home, None), (AWAY, away, None), **kw)  # type: ignore[arg-type]


def event(*updates: OddsUpdate) -> EventOdds:
    found = EventOdds.of(updates[0])
    for update in updates:
        found.apply(update)
    return found


def prediction(model: str, **probabilities: float) -> Prediction:
    return Prediction(prediction_id="p1", model=model, version="v1", probabilities=probabilities,
                      confidence=0.8, created_at=NOW, event_id="ev1")  # fmt: skip


def find_value(
    p: Prediction, e: EventOdds, min_edge: float = 0.02, max_age: float = 60.0
) -> list[ValueBet]:
    return value_bets(p, e, min_edge=min_edge, kelly_fraction=0.25, max_age=max_age, now=NOW)


# --- value bets ------------------------------------------------------------------------------


def test_value_bet_takes_the_best_price_across_books_with_ev_and_fractional_kelly() -> None:
    e = event(h2h("book_a", 1.95, 1.95), h2h("book_b", 2.05, 1.85), h2h("book_c", 2.00, 1.90))
    (bet,) = find_value(prediction("basketball_nba_h2h", home=0.55, away=0.45), e)
    assert (bet.quote.book, bet.quote.name, bet.quote.price) == ("book_b", HOME, 2.05)
    assert bet.ev == pytest.approx(0.55 * 2.05 - 1)
    assert bet.edge == pytest.approx(0.55 - 1 / 2.05)
    full = (0.55 * 2.05 - 1) / (2.05 - 1)
    assert bet.full_kelly == pytest.approx(full)
    assert bet.kelly == pytest.approx(0.25 * full)
    assert bet.books == 3


def test_value_bet_needs_more_than_the_minimum_edge() -> None:
    e = event(h2h("book_a", 1.90, 1.95))  # p - 1/D = 0.54 - 0.5263 = 0.0137
    p = prediction("basketball_nba_h2h", home=0.54, away=0.46)
    assert find_value(p, e, min_edge=0.02) == []
    (bet,) = find_value(p, e, min_edge=0.01)
    assert bet.edge == pytest.approx(0.54 - 1 / 1.90)


def test_a_stale_price_is_never_the_best_price() -> None:
    e = event(h2h("book_a", 2.30, 1.60, age=120.0), h2h("book_b", 2.00, 1.80, age=5.0))
    (bet,) = find_value(prediction("basketball_nba_h2h", home=0.55, away=0.45), e, max_age=60.0)
    assert bet.quote.book == "book_b"
    assert find_value(prediction("basketball_nba_h2h", home=0.55, away=0.45), event(
        h2h("book_a", 2.30, 1.60, age=120.0))) == []  # fmt: skip


def test_outcome_names_are_compared_normalised_across_providers() -> None:
    e = event(odds("book_a", "h2h", ("boston celtics", 2.10, None), ("LA Lakers", 1.80, None)))
    (bet,) = find_value(prediction("basketball_nba_h2h", home=0.55, away=0.45), e)
    assert bet.quote.name == "boston celtics"


def test_totals_value_bets_only_use_books_at_the_median_over_line() -> None:
    e = event(
        odds("book_a", "totals", ("Over", 1.91, 220.5), ("Under", 1.91, 220.5)),
        odds("book_b", "totals", ("Over", 1.95, 220.5), ("Under", 1.87, 220.5)),
        odds("book_c", "totals", ("Over", 2.40, 224.5), ("Under", 1.55, 224.5)),
    )
    assert median_line(e) == 220.5
    (bet,) = find_value(prediction("basketball_nba_totals", over=0.56, under=0.44), e)
    assert (bet.quote.book, bet.quote.point, bet.quote.price) == ("book_b", 220.5, 1.95)
    assert bet.ev == pytest.approx(0.56 * 1.95 - 1)


def test_prop_predictions_are_not_matched_against_game_markets() -> None:
    e = event(h2h("book_a", 3.0, 3.0))
    p = Prediction(prediction_id="p", model="basketball_nba_props", version="v",
                   probabilities={"over": 0.9, "under": 0.1}, confidence=1.0, created_at=NOW,
                   event_id="ev1", subject="Player:points")  # fmt: skip
    assert find_value(p, e) == []


# --- arbitrage -------------------------------------------------------------------------------


def test_planted_h2h_arbitrage_pays_the_same_whichever_side_wins() -> None:
    e = event(h2h("book_a", 2.10, 1.80), h2h("book_b", 1.85, 2.15), h2h("book_c", 1.95, 1.95))
    (arb,) = arbitrages(e, "h2h", now=NOW, max_age=60.0)
    booksum = 1 / 2.10 + 1 / 2.15
    assert booksum < 1
    assert arb.booksum == pytest.approx(booksum)
    assert arb.margin == pytest.approx(1 / booksum - 1)
    legs = [(leg.quote.book, leg.quote.price) for leg in arb.legs]
    assert legs == [("book_a", 2.10), ("book_b", 2.15)]
    payouts = [leg.stake * leg.quote.price for leg in arb.legs]
    assert sum(leg.stake for leg in arb.legs) == pytest.approx(1.0)
    assert payouts[0] == pytest.approx(payouts[1])
    assert payouts[0] - 1.0 == pytest.approx(arb.margin)


def test_no_arbitrage_when_the_best_prices_sum_to_one_or_more() -> None:
    e = event(h2h("book_a", 2.00, 1.85), h2h("book_b", 1.90, 1.95))  # 1/2 + 1/1.95 > 1
    assert arbitrages(e, "h2h", now=NOW, max_age=60.0) == []


def test_stale_prices_make_no_arbitrage() -> None:
    e = event(h2h("book_a", 2.10, 1.80, age=300.0), h2h("book_b", 1.85, 2.15))
    assert arbitrages(e, "h2h", now=NOW, max_age=60.0) == []


def test_a_three_way_market_needs_the_draw_priced() -> None:
    kw = {"sport": "soccer_epl", "home": "Arsenal", "away": "Chelsea"}
    two_way = event(odds("a", "h2h", ("Arsenal", 2.2, None), ("Chelsea", 2.2, None), **kw))
    assert arbitrages(two_way, "h2h", now=NOW, max_age=60.0) == []  # the draw is missing
    three = event(
        odds("a", "h2h", ("Arsenal", 3.3, None), ("Draw", 3.2, None), ("Chelsea", 2.3, None), **kw),
        odds("b", "h2h", ("Arsenal", 2.6, None), ("Draw", 3.8, None), ("Chelsea", 2.4, None), **kw),
    )  # fmt: skip
    (arb,) = arbitrages(three, "h2h", now=NOW, max_age=60.0)
    booksum = 1 / 3.3 + 1 / 3.8 + 1 / 2.4
    assert arb.booksum == pytest.approx(booksum) and booksum < 1
    payouts = {leg.quote.name: leg.stake * leg.quote.price for leg in arb.legs}
    assert set(payouts) == {"Arsenal", "Draw", "Chelsea"}
    assert max(payouts.values()) == pytest.approx(min(payouts.values()))


def test_totals_arbitrage_pairs_over_and_under_of_the_same_line_only() -> None:
    e = event(
        odds("a", "totals", ("Over", 2.10, 220.5), ("Under", 1.75, 220.5)),
        odds("b", "totals", ("Over", 1.75, 220.5), ("Under", 2.05, 220.5)),
        odds("c", "totals", ("Over", 2.50, 230.5), ("Under", 1.50, 230.5)),
    )
    (arb,) = arbitrages(e, "totals", now=NOW, max_age=60.0)
    assert arb.line == 220.5
    assert arb.booksum == pytest.approx(1 / 2.10 + 1 / 2.05)


def test_spreads_arbitrage_matches_the_home_and_away_sides_of_one_line() -> None:
    e = event(
        odds("a", "spreads", (HOME, 2.10, -3.5), (AWAY, 1.75, 3.5)),
        odds("b", "spreads", (HOME, 1.75, -3.5), (AWAY, 2.06, 3.5)),
    )
    (arb,) = arbitrages(e, "spreads", now=NOW, max_age=60.0)
    assert arb.line == -3.5
    assert {(leg.quote.book, leg.quote.point) for leg in arb.legs} == {("a", -3.5), ("b", 3.5)}


# --- middles ---------------------------------------------------------------------------------


def _pair_pnl(over_line: float, a: float, under_line: float, b: float, total: int) -> float:
    over = a - 1 if total > over_line else (0.0 if total == over_line else -1.0)
    under = b - 1 if total < under_line else (0.0 if total == under_line else -1.0)
    return over + under


def test_totals_middle_is_an_over_below_an_under_with_its_ev_on_the_distribution() -> None:
    e = event(
        odds("a", "totals", ("Over", 1.95, 215.5), ("Under", 1.87, 215.5)),
        odds("b", "totals", ("Over", 1.87, 224.5), ("Under", 1.95, 224.5)),
        odds("c", "totals", ("Over", 1.91, 220.5), ("Under", 1.91, 220.5)),
    )
    found = best_middle(e, "totals", now=NOW, max_age=60.0, min_ev=0.0)
    assert found is not None
    assert (found.over.book, found.low, found.under.book, found.high) == ("a", 215.5, "b", 224.5)
    distribution, sd = score_distribution("basketball_nba", "totals", found.center)
    assert found.center == 220.5 and sd == found.sd
    expected = math.fsum(p * _pair_pnl(215.5, 1.95, 224.5, 1.95, t)
                         for t, p in distribution.items())  # fmt: skip
    assert found.ev == pytest.approx(expected)
    inside = math.fsum(p for t, p in distribution.items() if 215.5 < t < 224.5)
    assert found.middle_probability == pytest.approx(inside)
    assert expected > 0  # 9 points wide around a normal(220.5, 18): worth it


def test_a_narrow_middle_below_the_minimum_ev_is_not_reported() -> None:
    e = event(
        odds("a", "totals", ("Over", 1.87, 220.5), ("Under", 1.95, 220.5)),
        odds("b", "totals", ("Over", 1.95, 221.5), ("Under", 1.87, 221.5)),
    )
    assert best_middle(e, "totals", now=NOW, max_age=60.0, min_ev=0.0) is None
    low_bar = best_middle(e, "totals", now=NOW, max_age=60.0, min_ev=-1.0)
    assert low_bar is not None and (low_bar.low, low_bar.high) == (220.5, 221.5)


def test_spreads_middle_takes_the_favourite_laying_less_and_the_dog_getting_more() -> None:
    e = event(
        odds("a", "spreads", (HOME, 1.91, -2.5), (AWAY, 1.91, 2.5)),
        odds("b", "spreads", (HOME, 1.91, -6.5), (AWAY, 1.91, 6.5)),
    )
    found = best_middle(e, "spreads", now=NOW, max_age=60.0, min_ev=-1.0)
    assert found is not None
    assert (found.over.book, found.over.point, found.under.book, found.under.point) == (
        "a", -2.5, "b", 6.5)  # fmt: skip
    assert (found.low, found.high) == (2.5, 6.5)  # home wins by 3 to 6: both bets win


# --- steam -----------------------------------------------------------------------------------


def fair_home(home: float, away: float) -> float:
    return (1 / home) / (1 / home + 1 / away)


def test_steam_is_the_sharp_price_moving_past_the_threshold_within_the_window() -> None:
    tracker = SteamTracker(window=300.0, threshold=0.03, points=1.0)
    tracker.observe(h2h("pinnacle", 2.00, 2.00), now=0.0)
    tracker.observe(h2h("pinnacle", 1.95, 2.05), now=60.0)
    assert tracker.moves(60.0) == []  # 1.2 points
    tracker.observe(h2h("pinnacle", 1.80, 2.15), now=100.0)
    moves = {m.outcome: m for m in tracker.moves(100.0)}
    assert set(moves) == {HOME, AWAY}
    home = moves[HOME]
    assert home.move == pytest.approx(fair_home(1.80, 2.15) - 0.5)
    assert (home.from_price, home.to_price, home.seconds) == (2.00, 1.80, 100.0)
    conditions = steam_conditions([home], threshold=0.03, points=1.0)
    assert conditions[0].severity == "info" and conditions[0].event_id == "ev1"


def test_a_move_older_than_the_window_is_no_longer_steam() -> None:
    tracker = SteamTracker(window=300.0, threshold=0.03, points=1.0)
    tracker.observe(h2h("pinnacle", 2.00, 2.00), now=0.0)
    tracker.observe(h2h("pinnacle", 1.80, 2.15), now=1000.0)  # after a long quiet spell
    assert len(tracker.moves(1000.0)) == 2  # measured from the price in force at 700
    assert tracker.moves(1299.0) != []
    assert tracker.moves(1301.0) == []  # the window has passed the move


def test_a_slow_drift_is_not_steam() -> None:
    tracker = SteamTracker(window=300.0, threshold=0.03, points=1.0)
    for step in range(10):  # 1 point of probability every 200 s: 9 points in all
        price = 1 / (0.5 + 0.01 * step)
        tracker.observe(h2h("pinnacle", price, 1 / (0.5 - 0.01 * step)), now=200.0 * step)
        assert tracker.moves(200.0 * step) == []


def test_a_sharp_line_move_is_steam_even_at_the_same_prices() -> None:
    tracker = SteamTracker(window=300.0, threshold=0.03, points=1.0)
    tracker.observe(odds("pinnacle", "totals", ("Over", 1.91, 220.5), ("Under", 1.91, 220.5)), 0.0)
    tracker.observe(odds("pinnacle", "totals", ("Over", 1.91, 222.0), ("Under", 1.91, 222.0)), 50.0)
    moves = tracker.moves(50.0)
    assert {m.outcome for m in moves} == {"Over", "Under"}
    assert all(m.points == pytest.approx(1.5) and m.move == pytest.approx(0.0) for m in moves)
    (big,) = steam_conditions(moves[:1], threshold=0.03, points=0.5)
    assert big.severity == "warning"  # 1.5 points is over twice 0.5
