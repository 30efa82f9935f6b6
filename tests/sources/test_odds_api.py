"""The Odds API provider through a real SourceClient against the emulator, and its parsers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from a1rt.messages import GameState, OddsUpdate
from a1rt.metrics import Metrics
from a1rt.models.simulation.world import World
from a1rt.sources import (
    ApiKey,
    SourceAuthError,
    SourceClient,
    SourceError,
    SourceQuotaExceeded,
    SourceRequestError,
)
from a1rt.sources.odds_api import (
    OddsApi,
    decimal_price,
    merge,
    parse_odds,
    parse_odds_events,
    parse_scores,
)
from tests.emulators.base import Fault, FaultKind
from tests.emulators.odds_api import KEY, OddsApiEmulator, event_id, shown_price
from tests.sources import providers_kit as kit

pytestmark = pytest.mark.anyio

START = 1_800_000_000.0
NOW = {"basketball_nba": START + 18 * 60, "soccer_epl": START + 30 * 60}  # some games live
RECEIVED = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    return kit.built_worlds(NOW, start=START)


@pytest.fixture
async def emulator(anyio_backend: str, worlds: dict[str, World]) -> AsyncIterator[OddsApiEmulator]:
    emu = OddsApiEmulator(tuple(NOW), start=START, worlds=worlds)
    emu.now = NOW["basketball_nba"]
    async with emu:
        yield emu


def make_client(
    emu: OddsApiEmulator, *, key: str | ApiKey | None = KEY, **options: Any
) -> SourceClient:
    return kit.make_client("odds_api", emu.url, api_key=key, **options)


async def poll(emu: OddsApiEmulator, sport: str = "basketball_nba", **options: Any) -> list[Any]:
    async with make_client(emu, **options) as client:
        return await OddsApi().poll(client, sport)


def when(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.parametrize("sport", list(NOW))
async def test_odds_api_poll_reports_the_worlds_games_scores_and_prices(
    emulator: OddsApiEmulator, sport: str
) -> None:
    emulator.now = NOW[sport]
    state = emulator.state(sport)
    messages = await poll(emulator, sport)

    games = {m.event_id: m for m in messages if isinstance(m, GameState)}
    assert {g.status for g in state.games} == {"scheduled", "in_progress", "final"}
    assert len(games) == len(state.games)
    for game in state.games:
        got = games[f"odds_api:{event_id(game.event_id)}"]
        assert (got.sport, got.home_team, got.away_team) == (sport, game.home_team, game.away_team)
        assert (got.status, got.commence_time) == (game.status, when(game.commence_time))
        assert (got.home_score, got.away_score) == (game.home_score, game.away_score)
        assert got.source == "odds_api" and got.received_at.tzinfo is not None

    odds = {(m.event_id, m.book, m.market): m for m in messages if isinstance(m, OddsUpdate)}
    live = {g.event_id for g in state.games if g.status != "final"}
    shown = [m for m in state.markets if m.event_id in live]
    assert len(odds) == len(shown) > 0
    for market in shown:
        got_odds = odds[(f"odds_api:{event_id(market.event_id)}", market.book, market.market)]
        assert [(o.name, o.point) for o in got_odds.outcomes] == [
            (o.name, o.point) for o in market.outcomes
        ]
        assert [o.price for o in got_odds.outcomes] == [
            shown_price(o.price) for o in market.outcomes
        ]
        assert got_odds.source_time == when(market.last_update)
    if sport == "soccer_epl":
        assert all(len(m.outcomes) == 3 for m in odds.values() if m.market == "h2h")


async def test_odds_api_american_payloads_convert_to_the_same_decimal_prices(
    emulator: OddsApiEmulator,
) -> None:
    state = emulator.state("basketball_nba")
    params = {"regions": "us,eu", "markets": "h2h,spreads,totals", "oddsFormat": "american"}
    async with make_client(emulator) as client:
        response = await client.get_json("/v4/sports/basketball_nba/odds", params, expect=list)
    prices = [o["price"] for e in response.data for b in e["bookmakers"] for m in b["markets"]
              for o in m["outcomes"]]  # fmt: skip
    assert prices and all(isinstance(p, int) and abs(p) >= 100 for p in prices)
    updates, skipped = parse_odds(response.data, RECEIVED)
    assert skipped == 0
    world = {(event_id(m.event_id), m.book, m.market): m for m in state.markets}
    for update in updates:
        market = world[(update.event_id.removeprefix("odds_api:"), update.book, update.market)]
        for got, want in zip(update.outcomes, market.outcomes, strict=True):
            assert got.price == pytest.approx(want.price, abs=0.01)


async def test_odds_api_poll_spends_and_tracks_the_quota(emulator: OddsApiEmulator) -> None:
    async with make_client(emulator) as client:
        await OddsApi().poll(client, "basketball_nba")
        assert emulator.used == 3 * 2 + 2  # markets x regions, and scores with daysFrom
        assert client.quota is not None
        assert (client.quota.remaining, client.quota.used) == (emulator.remaining, 8)


# --- refusals and faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected", "code"),
    [
        ({"key": None}, SourceAuthError, "MISSING_KEY"),
        ({"key": "wrong-key"}, SourceAuthError, "INVALID_KEY"),
        ({"credits": 3}, SourceQuotaExceeded, "OUT_OF_USAGE_CREDITS"),
        ({"regions": ()}, SourceRequestError, "MISSING_REGION"),
        ({"sport": "basketball_wnba"}, SourceRequestError, "UNKNOWN_SPORT"),
    ],
    ids=["missing_key", "invalid_key", "out_of_credits", "missing_region", "unknown_sport"],
)
async def test_odds_api_refusals_carry_the_providers_error_code(
    emulator: OddsApiEmulator, options: dict[str, Any], expected: type[SourceError], code: str
) -> None:
    emulator.remaining = options.pop("credits", emulator.remaining)
    provider = OddsApi(regions=options.pop("regions", ("us", "eu")))
    sport = options.pop("sport", "basketball_nba")
    async with make_client(emulator, **options) as client:
        with pytest.raises(SourceError) as raised:
            await provider.poll(client, sport)
    assert type(raised.value) is expected
    assert getattr(raised.value, "error_code", None) == code


async def test_odds_api_accepts_the_key_as_api_key_too(emulator: OddsApiEmulator) -> None:
    messages = await poll(emulator, key=ApiKey(KEY, "query", "api_key"))
    assert any(isinstance(m, OddsUpdate) for m in messages)


@pytest.mark.parametrize(("fault", "expected"), kit.fault_cases())
async def test_odds_api_every_fault_raises_its_source_error(
    emulator: OddsApiEmulator, fault: Fault, expected: type[SourceError]
) -> None:
    emulator.fault = fault
    with pytest.raises(SourceError) as raised:
        await poll(emulator)
    assert type(raised.value) is expected


@pytest.mark.parametrize("kind", ["rate_limited", "rate_limited_bare", "server_error", "slow"])
async def test_odds_api_passing_faults_recover_through_retries(
    emulator: OddsApiEmulator, kind: FaultKind
) -> None:
    emulator.fault = Fault(kind, delay=kit.SLOW, retry_after=0.5, times=2)
    metrics = Metrics()
    messages = await poll(emulator, metrics=metrics)
    assert any(isinstance(m, GameState) for m in messages)
    assert any(isinstance(m, OddsUpdate) for m in messages)
    retried = kit.sample(
        metrics, "a1rt_source_retries_total", "odds_api", reason=kit.RETRY_REASONS[kind]
    )
    assert retried == 2


async def test_odds_api_error_answers_carry_the_quota_headers(emulator: OddsApiEmulator) -> None:
    async with make_client(emulator) as client:
        with pytest.raises(SourceRequestError):
            await client.get_json("/v4/sports/basketball_nba/odds", {"markets": "h2h"})
        assert client.quota is not None and client.quota.remaining == emulator.remaining


# --- malformed records -------------------------------------------------------------------------


def _spoil_odds(body: list[Any]) -> list[Any]:
    first, second, third = (dict(event) for event in body[:3])
    del first["home_team"]  # KeyError: the event goes
    second["commence_time"] = "next tuesday"  # ValueError: the event goes
    book = dict(third["bookmakers"][0])
    market = dict(book["markets"][0])
    market["outcomes"] = [{**market["outcomes"][0], "price": 0.9}, *market["outcomes"][1:]]
    book["markets"] = [market, *book["markets"][1:]]  # one market of one book goes
    third["bookmakers"] = [book, "not a bookmaker", *third["bookmakers"][1:]]  # TypeError
    return [first, second, third, *body[3:], 42]  # TypeError


async def test_odds_api_malformed_records_are_skipped_and_counted(
    emulator: OddsApiEmulator,
) -> None:
    state = emulator.state("basketball_nba")
    emulator.transform = lambda kind, body: _spoil_odds(body) if kind == "odds" else body
    metrics = Metrics()
    provider = OddsApi(metrics=metrics)
    async with make_client(emulator, metrics=metrics) as client:
        messages = await provider.poll(client, "basketball_nba")
    odds = [m for m in messages if isinstance(m, OddsUpdate)]
    first, second = [g.event_id for g in state.games if g.status != "final"][:2]
    lost = sum(m.event_id in (first, second) for m in state.markets) + 1
    assert len(odds) == len(state.markets) - lost
    assert len([m for m in messages if isinstance(m, GameState)]) == len(state.games)
    skipped = kit.skips(
        metrics, "odds_api", ("KeyError", "ValueError", "TypeError", "InvalidOddsError")
    )
    assert skipped == {"KeyError": 1.0, "ValueError": 2.0, "TypeError": 2.0,
                       "InvalidOddsError": None}  # fmt: skip


# --- the parsers on hand-written payloads ------------------------------------------------------

SCORES = [
    {"id": "572d984e132eddaac3da93e5db332e7e", "sport_key": "basketball_nba", "sport_title": "NBA",
     "commence_time": "2022-02-06T03:10:38Z", "completed": True, "home_team": "Sacramento Kings",
     "away_team": "Oklahoma City Thunder",
     "scores": [{"name": "Sacramento Kings", "score": "113"},
                {"name": "Oklahoma City Thunder", "score": "103"}],
     "last_update": "2022-02-06T05:18:19Z"},
    {"id": "4b25562aa9e87b57aa16f970abaec8cc", "sport_key": "basketball_nba", "sport_title": "NBA",
     "commence_time": 1644199861, "completed": False, "home_team": "Los Angeles Clippers",
     "away_team": "Milwaukee Bucks",
     "scores": [{"name": "Milwaukee Bucks", "score": "37"}, {"name": "LA Clippers", "score": "40"}],
     "last_update": 1644202043},
    {"id": "19434a586e3723c55cd3d028b90eb112", "sport_key": "basketball_nba", "sport_title": "NBA",
     "commence_time": "2022-02-08T00:10:00Z", "completed": False, "home_team": "Charlotte Hornets",
     "away_team": "Toronto Raptors", "scores": None, "last_update": None},
]  # fmt: skip


def test_odds_api_parse_scores_reads_string_and_null_scores() -> None:
    games, skipped = parse_scores(SCORES, RECEIVED)
    assert skipped == 0
    final, live, upcoming = games
    assert (final.status, final.home_score, final.away_score) == ("final", 113, 103)
    assert final.event_id == "odds_api:572d984e132eddaac3da93e5db332e7e"
    assert final.commence_time == datetime(2022, 2, 6, 3, 10, 38, tzinfo=UTC)
    assert final.source_time == datetime(2022, 2, 6, 5, 18, 19, tzinfo=UTC)
    assert final.seconds_remaining == 0.0
    assert (live.status, live.home_score, live.away_score) == ("in_progress", 40, 37)
    assert live.commence_time == datetime.fromtimestamp(1644199861, UTC)
    assert (live.period, live.clock, live.seconds_remaining) == (0, None, None)
    assert (upcoming.status, upcoming.home_score, upcoming.source_time) == ("scheduled", 0, None)


def test_odds_api_parse_scores_skips_bad_records() -> None:
    bad = [{**SCORES[1], "scores": [{"name": "Milwaukee Bucks", "score": "3x"}]},
           {**SCORES[0], "completed": "yes"}, {**SCORES[2], "id": None}, None]  # fmt: skip
    games, skipped = parse_scores([*bad, SCORES[2]], RECEIVED)
    assert [g.home_team for g in games] == ["Charlotte Hornets"] and skipped == 4


def odds_event(**changes: Any) -> dict[str, Any]:
    event = {
        "id": "7f0348f75d9f3d3bda52be5a73ea3f7b", "sport_key": "basketball_nba",
        "sport_title": "NBA", "commence_time": "2027-05-03T00:30:00Z",
        "home_team": "Boston Celtics", "away_team": "Miami Heat",
        "bookmakers": [{"key": "draftkings", "title": "DraftKings",
                        "last_update": "2027-05-02T23:45:00Z", "markets": [
            {"key": "h2h", "outcomes": [{"name": "Boston Celtics", "price": -278},
                                        {"name": "Miami Heat", "price": 230}]},
            {"key": "spreads", "last_update": "2027-05-02T23:40:00Z", "outcomes": [
                {"name": "Boston Celtics", "price": 1.91, "point": -7.5},
                {"name": "Miami Heat", "price": 1.91, "point": 7.5}]},
            {"key": "h2h_lay", "outcomes": [{"name": "Boston Celtics", "price": 1.4},
                                            {"name": "Miami Heat", "price": 3.5}]}]}],
    }  # fmt: skip
    return {**event, **changes}


def test_odds_api_parse_odds_converts_american_and_keeps_decimal() -> None:
    updates, skipped = parse_odds([odds_event()], RECEIVED)
    assert skipped == 0
    h2h, spreads = updates  # h2h_lay is not an a1rt market: left out, not counted
    assert h2h.event_id == "odds_api:7f0348f75d9f3d3bda52be5a73ea3f7b"
    assert [o.price for o in h2h.outcomes] == pytest.approx([1 + 100 / 278, 3.3])
    assert h2h.source_time == datetime(2027, 5, 2, 23, 45, tzinfo=UTC)  # the bookmaker's stamp
    assert [(o.price, o.point) for o in spreads.outcomes] == [(1.91, -7.5), (1.91, 7.5)]
    assert spreads.source_time == datetime(2027, 5, 2, 23, 40, tzinfo=UTC)
    assert (h2h.book, h2h.market, h2h.received_at) == ("draftkings", "h2h", RECEIVED)


@pytest.mark.parametrize("price", [1.0, 0.5, -50, float("nan"), "1.9", True, None])
def test_odds_api_decimal_price_refuses_what_is_not_a_price(price: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        decimal_price(price)


def test_odds_api_merge_adds_upcoming_events_only_in_the_odds() -> None:
    later = odds_event(id="a" * 32, commence_time="2027-01-16T00:00:00Z")
    started = odds_event(id="b" * 32, commence_time="2027-01-14T00:00:00Z")
    events, _ = parse_odds_events([later, started], RECEIVED)
    games, _ = parse_scores(SCORES[2:], RECEIVED)
    messages = merge(games, events, RECEIVED)
    states = [m for m in messages if isinstance(m, GameState)]
    assert [s.event_id for s in states] == [games[0].event_id, f"odds_api:{'a' * 32}"]
    assert states[1].status == "scheduled" and states[1].source_time is None
    assert len(messages) == 2 + 4
