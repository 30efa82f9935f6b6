from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from a1rt.models.simulation import (
    BOOKS,
    InvalidSimulationError,
    UnknownSportError,
    World,
    WorldState,
)

pytestmark = pytest.mark.timeout(60)

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
MARGINS = {book.key: book.margin for book in BOOKS}


@pytest.fixture(scope="module")
def nba() -> World:
    return World(3, "basketball_nba", START, speed=60.0)


def _states(world: World, minutes: range) -> list[WorldState]:
    return [world.state_at(START + 60.0 * m) for m in minutes]


def test_world_same_seed_same_state_at_every_time() -> None:
    first = World(8, "soccer_epl", START, speed=30.0)
    second = World(8, "soccer_epl", START, speed=30.0)
    times = [START + 3600.0 * h for h in (0, 5, 2, 40, 9)]
    assert [first.state_at(t) for t in times] == [second.state_at(t) for t in reversed(times)][::-1]
    other = World(9, "soccer_epl", START, speed=30.0)
    assert other.state_at(times[1]) != first.state_at(times[1])


def test_world_games_progress_to_their_final_score() -> None:
    world = World(4, "americanfootball_nfl", START, speed=60.0)
    history: dict[str, list[tuple[str, int, int, float, tuple[float, ...]]]] = {}
    for state in _states(world, range(0, 8 * 60)):  # a world hour a wall minute
        for game in state.games:
            history.setdefault(game.event_id, []).append(
                (
                    game.status,
                    game.home_score,
                    game.away_score,
                    game.seconds_remaining,
                    game.true_probabilities,
                )
            )
    finished = [h for h in history.values() if h[0][0] == "scheduled" and h[-1][0] == "final"]
    assert len(finished) >= 10
    order = {"scheduled": 0, "in_progress": 1, "final": 2}
    for seen in finished:
        assert [order[s[0]] for s in seen] == sorted(order[s[0]] for s in seen)
        assert all(
            a[1] <= b[1] and a[2] <= b[2] and a[3] >= b[3] for a, b in itertools.pairwise(seen)
        )
        status, home, away, _, probs = seen[-1]
        assert home != away and probs == ((1.0, 0.0) if home > away else (0.0, 1.0))
        live = [s[4][0] for s in seen if s[0] == "in_progress"]
        assert live and all(0.0 <= p <= 1.0 for p in live)


def test_world_prices_every_market_before_the_start_and_h2h_in_play(nba: World) -> None:
    seen = {"scheduled": 0, "in_progress": 0}
    for state in _states(nba, range(0, 2 * 24 * 60, 37)):
        status = {game.event_id: game.status for game in state.games}
        for market in state.markets:
            booksum = sum(1.0 / outcome.price for outcome in market.outcomes)
            assert booksum == pytest.approx(1.0 + MARGINS[market.book], abs=1e-9)
            assert math.isclose(sum(market.true_probabilities), 1.0)
            game_status = status[market.event_id]
            assert game_status != "final"
            seen[game_status] += 1
            if game_status == "in_progress":
                assert market.market == "h2h"
            elif market.market == "spreads":
                home, away = market.outcomes
                assert home.point == -away.point and home.point % 1 == 0.5
            elif market.market == "totals":
                assert market.outcomes[0].point == market.outcomes[1].point
            assert market.last_update <= state.time
    assert seen["scheduled"] > 0 and seen["in_progress"] > 0


def test_world_reports_wall_clock_times_at_any_speed() -> None:
    world = World(5, "soccer_epl", START, speed=60.0)
    state = world.state_at(START + 3600.0)
    upcoming = [g for g in state.games if g.status == "scheduled"]
    assert upcoming
    kickoff = upcoming[0].commence_time
    assert world.wall_time(world.world_time(kickoff)) == pytest.approx(kickoff)
    before = {g.event_id: g for g in world.state_at(kickoff - 1.0).games}
    after = {g.event_id: g for g in world.state_at(kickoff + 30.0).games}  # 30 world minutes
    assert before[upcoming[0].event_id].status == "scheduled"
    assert after[upcoming[0].event_id].status == "in_progress"
    assert after[upcoming[0].event_id].period == 1


def test_world_start_showing_puts_a_chosen_moment_on_the_wall_clock_now() -> None:
    now = START + 12_345.0
    for moment in (now + 7_200.0, now - 600.0):  # ahead of the wall clock, or behind it
        start = World.start_showing(moment, 120.0, now)
        world = World(5, "basketball_nba", start, speed=120.0)
        assert world.world_time(now) == pytest.approx(moment)
        assert world.world_time(now + 1.0) == pytest.approx(moment + 120.0)
    assert World.start_showing(now + 60.0, 1.0, now) == now  # speed 1 shows only the present


def test_world_nba_posts_props_before_tip_off(nba: World) -> None:
    states = [s for s in _states(nba, range(0, 24 * 60, 29)) if s.props]
    assert states
    props = states[0].props
    per_game: dict[str, int] = {}
    for prop in props:
        per_game[prop.event_id] = per_game.get(prop.event_id, 0) + 1
        assert prop.line % 1 == 0.5 and prop.stat in ("points", "rebounds", "assists")
        assert 1.0 / prop.over_price + 1.0 / prop.under_price == pytest.approx(
            1 + MARGINS[prop.book]
        )
        assert 0.0 < prop.true_over_probability < 1.0
    assert set(per_game.values()) == {6 * 3 * len(BOOKS)}
    scheduled = {g.event_id for g in states[0].games if g.status == "scheduled"}
    assert set(per_game) <= scheduled


def test_world_plays_season_after_season() -> None:
    world = World(6, "americanfootball_nfl", START, speed=1.0)
    later = world.state_at(START + 400 * 86400.0)
    assert later.games and all(int(g.event_id.split("-")[2]) > 0 for g in later.games)
    assert np.all([g.commence_time > START + 300 * 86400.0 for g in later.games])


def test_world_rebuilds_forgotten_seasons_identically() -> None:
    world = World(6, "americanfootball_nfl", START, speed=1.0)
    early = world.state_at(START + 86400.0)
    assert world.state_at(START + 900 * 86400.0).games  # several seasons later
    assert world.state_at(START + 86400.0) == early


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ((1, "basketball_nba", START, 0.0), InvalidSimulationError),
        ((1, "basketball_nba", START, -2.0), InvalidSimulationError),
        ((1, "basketball_nba", math.nan, 1.0), InvalidSimulationError),
        ((-1, "basketball_nba", START, 1.0), InvalidSimulationError),
        ((1, "curling", START, 1.0), UnknownSportError),
    ],
)
def test_world_refuses_bad_arguments(
    arguments: tuple[int, str, float, float], error: type[Exception]
) -> None:
    with pytest.raises(error):
        World(*arguments)
