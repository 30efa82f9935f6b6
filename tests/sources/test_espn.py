"""The ESPN provider through a real SourceClient against the emulator, and its parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from a1rt.messages import GameState, OddsUpdate
from a1rt.metrics import Metrics
from a1rt.models.simulation.world import World
from a1rt.sources import SourceAuthError, SourceClient, SourceError, SourceRequestError
from a1rt.sources.espn import Espn, american_price, parse_scoreboard, seconds_left
from tests.emulators.base import Fault, FaultKind
from tests.emulators.espn import EspnEmulator, event_id
from tests.sources import providers_kit as kit

pytestmark = pytest.mark.anyio

START = 1_800_000_000.0
NOW = {"basketball_nba": START + 18 * 60, "soccer_epl": START + 30 * 60}  # some games live
RECEIVED = datetime(2025, 3, 15, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    return kit.built_worlds(NOW, start=START)


@pytest.fixture
async def emulator(anyio_backend: str, worlds: dict[str, World]) -> AsyncIterator[EspnEmulator]:
    emu = EspnEmulator(tuple(NOW), start=START, worlds=worlds)
    emu.now = NOW["basketball_nba"]
    async with emu:
        yield emu


def make_client(emu: EspnEmulator, **options: Any) -> SourceClient:
    return kit.make_client("espn", emu.url, **options)


async def poll(emu: EspnEmulator, sport: str = "basketball_nba", **options: Any) -> list[Any]:
    async with make_client(emu, **options) as client:
        return await Espn().poll(client, sport)


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.parametrize("sport", list(NOW))
async def test_espn_poll_reports_the_worlds_games_clocks_and_odds(
    emulator: EspnEmulator, sport: str
) -> None:
    emulator.now = NOW[sport]
    state = emulator.state(sport)
    messages = await poll(emulator, sport)

    games = {m.event_id: m for m in messages if isinstance(m, GameState)}
    assert {g.status for g in state.games} == {"scheduled", "in_progress", "final"}
    assert len(games) == len(state.games)
    for game in state.games:
        got = games[f"espn:{event_id(game.event_id)}"]
        assert (got.sport, got.home_team, got.away_team) == (sport, game.home_team, game.away_team)
        assert got.status == game.status
        assert got.commence_time == datetime.fromtimestamp(game.commence_time // 60 * 60, UTC)
        assert (got.home_score, got.away_score) == (game.home_score, game.away_score)
        assert got.seconds_remaining == pytest.approx(game.seconds_remaining)
        if game.status == "in_progress":
            assert got.period == game.period and got.clock
        assert got.source == "espn" and got.source_time is None

    odds = {(m.event_id, m.market): m for m in messages if isinstance(m, OddsUpdate)}
    upcoming = {g.event_id for g in state.games if g.status == "scheduled"}
    priced = [m for m in state.markets if m.book == "draftkings" and m.event_id in upcoming]
    assert len(odds) == len(priced) > 0
    for market in priced:
        got_odds = odds[(f"espn:{event_id(market.event_id)}", market.market)]
        assert got_odds.book == "draftkings"
        assert [(o.name, o.point) for o in got_odds.outcomes] == [
            (o.name, o.point) for o in market.outcomes
        ]
        for mine, theirs in zip(got_odds.outcomes, market.outcomes, strict=True):
            assert mine.price == pytest.approx(theirs.price, abs=0.01)  # via whole american odds
    if sport == "soccer_epl":
        assert all(len(m.outcomes) == 3 for m in odds.values() if m.market == "h2h")


async def test_espn_browser_user_agents_meet_the_waf(emulator: EspnEmulator) -> None:
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"
    with pytest.raises(SourceError) as raised:
        await poll(emulator, user_agent=agent)
    assert type(raised.value) is SourceAuthError and raised.value.status == 403
    assert raised.value.provider_message == "Access Denied"
    assert emulator.user_agents[-1] == agent


async def test_espn_date_ranges_are_refused_with_espns_400(emulator: EspnEmulator) -> None:
    async with make_client(emulator) as client:
        with pytest.raises(SourceRequestError) as raised:
            await client.get_json(Espn.path("basketball_nba"), {"dates": "20270115-20270116"})
        one_day = await client.get_json(Espn.path("basketball_nba"), {"dates": "20270115"})
    assert raised.value.provider_message == "Failed to get events endpoint."
    assert isinstance(one_day.data["events"], list)


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "expected"), kit.fault_cases())
async def test_espn_every_fault_raises_its_source_error(
    emulator: EspnEmulator, fault: Fault, expected: type[SourceError]
) -> None:
    emulator.fault = fault
    with pytest.raises(SourceError) as raised:
        await poll(emulator)
    assert type(raised.value) is expected


@pytest.mark.parametrize("kind", ["rate_limited", "server_error", "slow", "down"])
async def test_espn_passing_faults_recover_through_retries(
    emulator: EspnEmulator, kind: FaultKind
) -> None:
    emulator.fault = Fault(kind, delay=kit.SLOW, retry_after=0.5, times=2)
    metrics = Metrics()
    messages = await poll(emulator, metrics=metrics)
    assert any(isinstance(m, GameState) for m in messages)
    retries = kit.sample(
        metrics, "a1rt_source_retries_total", "espn", reason=kit.RETRY_REASONS[kind]
    )
    assert retries is not None and retries >= 1


# --- malformed records -------------------------------------------------------------------------


def _spoil(body: dict[str, Any]) -> dict[str, Any]:
    events = [dict(event) for event in body["events"]]
    first, second, third = events[:3]
    first["competitions"] = [{**first["competitions"][0], "competitors": []}]  # KeyError
    second["competitions"] = [{**second["competitions"][0], "status": {
        "type": {"state": "sideways"}}}]  # fmt: skip  # ValueError
    priced = next(e for e in events[3:] if e["competitions"][0].get("odds"))
    competition = dict(priced["competitions"][0])
    competition["odds"] = [{**competition["odds"][0], "homeTeamOdds": {"moneyLine": 50}}]
    priced["competitions"] = [competition]  # InvalidOddsError: the odds entry goes
    events[events.index(priced)] = priced
    return {**body, "events": [*events, "not an event"]}  # TypeError


async def test_espn_malformed_records_are_skipped_and_counted(emulator: EspnEmulator) -> None:
    state = emulator.state("basketball_nba")
    emulator.transform = _spoil
    metrics = Metrics()
    async with make_client(emulator, metrics=metrics) as client:
        messages = await Espn(metrics=metrics).poll(client, "basketball_nba")
    assert len([m for m in messages if isinstance(m, GameState)]) == len(state.games) - 2
    skipped = kit.skips(
        metrics, "espn", ("KeyError", "ValueError", "TypeError", "InvalidOddsError")
    )
    assert skipped == {"KeyError": 1.0, "ValueError": 1.0, "TypeError": 1.0,
                       "InvalidOddsError": 1.0}  # fmt: skip


# --- the parser on hand-written payloads -------------------------------------------------------


def scoreboard(**status: Any) -> dict[str, Any]:
    """The providers.md §4 example, with its status changed by `status`."""
    kind = {"id": "2", "name": "STATUS_IN_PROGRESS", "state": "in", "completed": False,
            "description": "In Progress", "detail": "2:31 - 4th Quarter"}  # fmt: skip
    kind.update(status.pop("type", {}))
    event_status = {"clock": 151.0, "displayClock": "2:31", "period": 4, **status, "type": kind}
    return {
        "leagues": [{"id": "46", "abbreviation": "NBA", "slug": "nba"}],
        "events": [{"id": "401705001", "date": "2025-03-15T00:00Z",
                    "name": "Boston Celtics at Golden State Warriors", "status": event_status,
                    "competitions": [{
            "id": "401705001", "date": "2025-03-15T00:00Z",
            "competitors": [
                {"id": "9", "homeAway": "home", "order": 0, "score": "102", "team": {
                    "id": "9", "abbreviation": "GSW", "displayName": "Golden State Warriors"}},
                {"id": "2", "homeAway": "away", "order": 1, "score": {"value": 98.0,
                                                                      "displayValue": "98"},
                 "team": {"id": "2", "abbreviation": "BOS", "displayName": "Boston Celtics"}}],
            "odds": [{"provider": {"id": "41", "name": "DraftKings", "priority": 1},
                      "details": "GSW -3.5", "overUnder": 222.5, "spread": -3.5,
                      "homeTeamOdds": {"favorite": True, "moneyLine": -165},
                      "awayTeamOdds": {"favorite": False, "moneyLine": 140},
                      "pointSpread": {"home": {"close": {"line": "-3.5", "odds": "-110"}},
                                      "away": {"close": {"line": "+3.5", "odds": "EVEN"}}},
                      "total": {"over": {"close": {"line": "o222.5", "odds": "-110"}},
                                "under": {"close": {"line": "u222.5", "odds": "-110"}}}},
                     {"provider": {"name": "ESPN BET"}, "details": "GSW -3.5", "spread": -3.5}],
        }]}],
    }  # fmt: skip


def test_espn_parse_reads_an_in_progress_game_and_its_odds() -> None:
    messages, skipped = parse_scoreboard(scoreboard(), "basketball_nba", RECEIVED)
    assert skipped == 0
    game, h2h, spreads, totals = messages
    assert isinstance(game, GameState)
    assert game.event_id == "espn:401705001" and game.status == "in_progress"
    assert (game.home_team, game.away_team) == ("Golden State Warriors", "Boston Celtics")
    assert (game.home_score, game.away_score, game.period, game.clock) == (102, 98, 4, "2:31")
    assert game.seconds_remaining == 151.0
    assert game.commence_time == datetime(2025, 3, 15, tzinfo=UTC)
    assert isinstance(h2h, OddsUpdate) and h2h.book == "draftkings"
    assert [o.price for o in h2h.outcomes] == pytest.approx([1 + 100 / 165, 2.4])
    assert isinstance(spreads, OddsUpdate) and spreads.market == "spreads"
    assert [o.price for o in spreads.outcomes] == pytest.approx([1 + 100 / 110, 2.0])
    assert [o.point for o in spreads.outcomes] == [-3.5, 3.5]
    assert isinstance(totals, OddsUpdate)
    assert [(o.name, o.point) for o in totals.outcomes] == [("Over", 222.5), ("Under", 222.5)]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"type": {"name": "STATUS_SCHEDULED", "state": "pre"}}, ("scheduled", 0, 0, 2880.0)),
        ({"type": {"name": "STATUS_FINAL", "state": "post", "completed": True}},
         ("final", 102, 98, 0.0)),
        ({"type": {"name": "STATUS_POSTPONED", "state": "post"}}, ("postponed", 102, 98, None)),
        ({"type": {"name": "STATUS_CANCELED", "state": "post"}}, ("cancelled", 102, 98, None)),
        ({"type": {"name": "STATUS_HALFTIME"}, "period": 2, "clock": 0.0},
         ("in_progress", 102, 98, 1440.0)),
        ({"clock": None, "displayClock": "5:32", "period": 3}, ("in_progress", 102, 98, 1052.0)),
        ({"period": 5}, ("in_progress", 102, 98, 0.0)),  # overtime
    ],
)  # fmt: skip
def test_espn_parse_maps_statuses_and_clocks(
    status: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    messages, _ = parse_scoreboard(scoreboard(**status), "basketball_nba", RECEIVED)
    game = messages[0]
    assert isinstance(game, GameState)
    assert (game.status, game.home_score, game.away_score, game.seconds_remaining) == expected


def test_espn_parse_soccer_clock_counts_up_and_needs_the_draw() -> None:
    payload = scoreboard(clock=None, displayClock="67'", period=2)
    messages, skipped = parse_scoreboard(payload, "soccer_epl", RECEIVED)
    game = messages[0]
    assert isinstance(game, GameState) and skipped == 0
    assert (game.clock, game.seconds_remaining) == ("67'", 5400.0 - 67 * 60)
    assert "h2h" not in {m.market for m in messages if isinstance(m, OddsUpdate)}
    assert seconds_left("soccer_epl", 1, 2820.0) == 2700.0  # first-half stoppage time


def test_espn_parse_without_odds_or_events() -> None:
    payload = scoreboard()
    del payload["events"][0]["competitions"][0]["odds"]
    assert len(parse_scoreboard(payload, "basketball_nba", RECEIVED)[0]) == 1
    assert parse_scoreboard({"leagues": []}, "basketball_nba", RECEIVED) == ([], 1)


@pytest.mark.parametrize(
    ("quote", "price"),
    [(-110, 1 + 100 / 110), ("+140", 2.4), ("EVEN", 2.0), ("OFF", None), (None, None)],
)
def test_espn_american_price(quote: object, price: float | None) -> None:
    assert american_price(quote) == pytest.approx(price)
