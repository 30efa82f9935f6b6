"""The Sportradar provider through a real SourceClient against the emulator, and its parsers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from a1rt.messages import GameState, SourceMessage
from a1rt.metrics import Metrics
from a1rt.models.simulation.world import World
from a1rt.sources import (
    ApiKey,
    SourceAuthError,
    SourceClient,
    SourceError,
    SourceRateLimited,
    SourceServerError,
    Timeouts,
    sportradar,
)
from a1rt.sources.sportradar import (
    Sportradar,
    clock_seconds,
    parse_game_summary,
    parse_schedule,
    parse_soccer_summaries,
)
from tests.emulators.base import Fault
from tests.emulators.sportradar import KEY, SportradarEmulator
from tests.sources import providers_kit as kit

START = datetime(2026, 12, 1, 17, tzinfo=UTC).timestamp()  # noon on the US east coast
SPORTS = ("basketball_nba", "americanfootball_nfl", "soccer_epl")
TIMEOUTS = Timeouts(connect=1.0, read=0.5, total=3.0)
NOW = datetime(2024, 10, 22, 23, 0, tzinfo=UTC)
MOMENTS: dict[str, float] = {}  # by sport: the moment live_moment found


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    """One World per sport for the module, built here up to its live moment."""
    built = {sport: World(kit.SEED, sport, START, kit.SPEED) for sport in SPORTS}
    for sport, world in built.items():
        MOMENTS[sport] = live_moment(world, sport)
    return built


def live_moment(world: World, sport: str) -> float:
    """The first moment (10 s steps) with a game in progress that has a score on the board."""
    for step in range(0, 6 * 3600, 10):
        moment = START + step
        games = world.state_at(moment).games
        if any(g.status == "in_progress" and g.home_score + g.away_score > 0 for g in games):
            return moment
    raise AssertionError(f"no live {sport} game in six hours")


@pytest.fixture
async def emulator(
    anyio_backend: str, worlds: dict[str, World]
) -> AsyncIterator[SportradarEmulator]:
    emu = SportradarEmulator(SPORTS, start=START, worlds=worlds)
    emu.now = MOMENTS["basketball_nba"]
    async with emu:
        yield emu


def client_for(
    emu: SportradarEmulator, *, api_key: str | ApiKey = KEY, **options: Any
) -> SourceClient:
    return kit.make_client("sportradar", emu.url, api_key=api_key, timeouts=TIMEOUTS, **options)


async def poll(
    emu: SportradarEmulator,
    sport: str = "basketball_nba",
    *,
    metrics: Metrics | None = None,
    level: Any = "trial",
    **options: Any,
) -> list[SourceMessage]:
    provider = Sportradar(
        level, metrics=metrics, clock=lambda: datetime.fromtimestamp(emu.moment(), UTC)
    )
    async with client_for(emu, metrics=metrics, **options) as client:
        return await provider.poll(client, sport)


# --- against the emulator ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("sport", SPORTS)
async def test_sportradar_poll_reports_the_worlds_games(
    emulator: SportradarEmulator, sport: str
) -> None:
    emulator.now = MOMENTS[sport]
    messages = await poll(emulator, sport)
    world = {emulator.sr_id(game.event_id): game for game in emulator.state(sport).games}
    got = {message.event_id.removeprefix("sportradar:"): message for message in messages}
    assert got.keys() == world.keys()
    for sr_id, game in world.items():
        state = got[sr_id]
        assert isinstance(state, GameState)
        assert (state.sport, state.source) == (sport, "sportradar")
        assert (state.home_team, state.away_team) == (game.home_team, game.away_team)
        assert state.commence_time == datetime.fromtimestamp(int(game.commence_time), UTC)
        assert state.status == game.status
        assert (state.home_score, state.away_score) == (game.home_score, game.away_score)
        assert state.received_at.tzinfo is not None
        if game.status == "in_progress":
            assert state.period == game.period
            assert state.clock
            assert state.seconds_remaining == pytest.approx(game.seconds_remaining, abs=1.0)
    live = sum(game.status == "in_progress" for game in world.values())
    assert live > 0
    summaries = 1 if sport == "soccer_epl" else live  # soccer: one live-summaries request
    assert sum(emulator.hits.values()) == 1 + summaries


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "raised"),
    kit.fault_cases((Fault("server_error", status=503), SourceServerError), delay=1.0),
)
async def test_sportradar_faults_raise_the_right_source_error(
    emulator: SportradarEmulator, fault: Fault, raised: type[SourceError]
) -> None:
    emulator.fault = fault
    with pytest.raises(raised) as caught:
        await poll(emulator)
    assert type(caught.value) is raised
    assert KEY not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fault",
    [
        Fault("rate_limited", times=1),
        Fault("rate_limited_bare", times=2),
        Fault("server_error", status=502, times=2),
        Fault("slow", delay=1.0, times=1),
        Fault("down", times=1),
    ],
    ids=lambda fault: fault.kind,
)
async def test_sportradar_passing_faults_are_retried_away(
    emulator: SportradarEmulator, fault: Fault
) -> None:
    expected = len(emulator.state("basketball_nba").games)
    emulator.fault = fault
    assert len(await poll(emulator)) == expected


@pytest.mark.anyio
async def test_sportradar_bad_key_wrong_level_and_query_key(emulator: SportradarEmulator) -> None:
    with pytest.raises(SourceAuthError, match="Forbidden") as caught:
        await poll(emulator, api_key=ApiKey("wrong-key", "header", "x-api-key"))
    assert caught.value.status == 403
    with pytest.raises(SourceAuthError):
        await poll(emulator, level="production")  # a trial key on a production path
    by_query = await poll(emulator, api_key=ApiKey(KEY, "query", "api_key"))
    assert len(by_query) == len(emulator.state("basketball_nba").games)
    with pytest.raises(ValueError, match="access_level"):
        Sportradar("gold")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_sportradar_over_qps_is_a_rate_limit(emulator: SportradarEmulator) -> None:
    emulator.qps_limit = 0.001  # one request per 1000 s: the first summary is refused
    with pytest.raises(SourceRateLimited):
        await poll(emulator)


@pytest.mark.anyio
async def test_sportradar_soccer_pages_through_the_daily_summaries(
    emulator: SportradarEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sportradar, "SOCCER_PAGE", 4)
    emulator.now = MOMENTS["soccer_epl"]
    games = emulator.state("soccer_epl").games
    messages = await poll(emulator, "soccer_epl")
    assert len(messages) == len(games)
    daily = sum(n for path, n in emulator.hits.items() if "live" not in path)
    assert daily == (len(games) + 1) // 4 + 1  # the World's games and one LaLiga match


@pytest.mark.anyio
async def test_sportradar_malformed_records_are_skipped_and_counted(
    emulator: SportradarEmulator,
) -> None:
    metrics = Metrics()
    emulator.corrupt = 4
    messages = await poll(emulator, metrics=metrics)
    assert len(messages) == len(emulator.state("basketball_nba").games) - 4
    assert kit.skipped(metrics, "sportradar") == 4.0


# --- the parsers on hand-written payloads ------------------------------------------------------

NBA_SCHEDULE: dict[str, Any] = {
    "date": "2024-10-22",
    "league": {"id": "4353138d-4c22-4396-95d8-5f587d2df25c", "name": "NBA", "alias": "NBA"},
    "games": [
        {"id": "a06b10fa-fd80-4058-9e0a-d3d1d69cb6f1", "status": "closed", "coverage": "full",
         "scheduled": "2024-10-22T23:30:00Z", "home_points": 132, "away_points": 109,
         "home": {"name": "Boston Celtics", "alias": "BOS", "id": "583eccfa"},
         "away": {"name": "New York Knicks", "alias": "NYK", "id": "583ec70e"}},
        {"id": "b2", "status": "scheduled", "scheduled": "2024-10-23T02:00:00+00:00",
         "home": {"name": "Lakers", "market": "Los Angeles", "id": "l"},
         "away": {"name": "Timberwolves", "market": "Minnesota", "id": "m"}},
        {"id": "b3", "status": "time-tbd", "scheduled": "2024-10-23T02:00:00Z"},
        {"id": "b4", "status": "on-fire", "scheduled": "2024-10-23T02:00:00Z",
         "home": {"name": "A"}, "away": {"name": "B"}},
    ],
}  # fmt: skip
NBA_SUMMARY: dict[str, Any] = {
    "id": "838316ea-ab7b-4581-a1dd-74229d1970d5", "status": "inprogress", "coverage": "full",
    "scheduled": "2025-01-18T00:00:00+00:00", "clock": "3:26", "quarter": 4,
    "home": {"name": "Celtics", "market": "Boston", "alias": "BOS", "points": 80},
    "away": {"name": "Knicks", "alias": "NYK", "points": 77, "scoring": []},
}  # fmt: skip


def test_sportradar_parse_nba_schedule() -> None:
    games, skipped_count = parse_schedule(NBA_SCHEDULE, "basketball_nba", received_at=NOW)
    assert skipped_count == 2  # no teams; an unknown status
    closed, upcoming = games
    assert closed.event_id == "sportradar:a06b10fa-fd80-4058-9e0a-d3d1d69cb6f1"
    assert (closed.home_team, closed.away_team) == ("Boston Celtics", "New York Knicks")
    assert (closed.status, closed.home_score, closed.away_score) == ("final", 132, 109)
    assert closed.commence_time == datetime(2024, 10, 22, 23, 30, tzinfo=UTC)
    assert (closed.source, closed.received_at, closed.source_time) == ("sportradar", NOW, None)
    assert (upcoming.home_team, upcoming.away_team) == (
        "Los Angeles Lakers",
        "Minnesota Timberwolves",
    )
    assert (upcoming.status, upcoming.home_score, upcoming.seconds_remaining) == (
        "scheduled",
        0,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "period", "remaining"),
    [
        ({}, 4, 206.0),
        ({"quarter": 1, "clock": "12:00"}, 1, 2880.0),
        ({"quarter": 2, "clock": "0:03.4"}, 2, 1443.4),
        ({"status": "halftime", "quarter": 2, "clock": "0:00"}, 2, 1440.0),
        ({"quarter": 5, "clock": "4:10"}, 5, 0.0),
    ],
)
def test_sportradar_parse_nba_summary_clock(
    changes: dict[str, Any], period: int, remaining: float
) -> None:
    state = parse_game_summary({**NBA_SUMMARY, **changes}, sport="basketball_nba", received_at=NOW)
    assert (state.home_team, state.away_team) == ("Boston Celtics", "Knicks")
    assert (state.status, state.home_score, state.away_score) == ("in_progress", 80, 77)
    assert (state.period, state.seconds_remaining) == (period, pytest.approx(remaining))


def test_sportradar_parse_nfl_season_schedule_and_boxscore() -> None:
    game = {"id": "g1", "status": "inprogress", "scheduled": "2024-09-06T00:20:00+00:00",
            "home": {"name": "Kansas City Chiefs", "alias": "KC"},
            "away": {"name": "Baltimore Ravens", "alias": "BAL"},
            "scoring": {"home_points": 7, "away_points": 3, "periods": []}}  # fmt: skip
    season = {"year": 2024, "type": "REG", "weeks": [{"sequence": 1, "games": [game]},
              {"sequence": 2, "games": None}, "not a week"]}  # fmt: skip
    games, skipped_count = parse_schedule(season, "americanfootball_nfl", received_at=NOW)
    assert skipped_count == 2
    assert [(g.home_team, g.home_score, g.away_score, g.status) for g in games] == [
        ("Kansas City Chiefs", 7, 3, "in_progress")
    ]
    teams = {"home": {"name": "Chiefs", "market": "Kansas City", "points": 17},
             "away": {"name": "Ravens", "market": "Baltimore", "points": 10}}  # fmt: skip
    boxscore = {"id": "g1", "status": "inprogress", "scheduled": "2024-09-06T00:20:00+00:00",
                "quarter": 3, "clock": "07:30", "generated_at": "2024-09-06T02:00:00Z",
                "summary": teams}  # fmt: skip
    state = parse_game_summary(boxscore, sport="americanfootball_nfl", received_at=NOW)
    assert (state.home_team, state.home_score, state.away_score) == ("Kansas City Chiefs", 17, 10)
    assert (state.period, state.clock, state.seconds_remaining) == (3, "07:30", 1350.0)
    assert state.source_time == datetime(2024, 9, 6, 2, tzinfo=UTC)


def soccer_summary(event_id: str, competition: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "sport_event": {
            "id": event_id, "start_time": "2024-10-19T14:00:00+00:00",
            "sport_event_context": {"competition": {"id": competition, "name": "x"}},
            "competitors": [{"id": "sr:competitor:1", "name": "Arsenal", "qualifier": "home"},
                            {"id": "sr:competitor:2", "name": "Chelsea", "qualifier": "away"}],
        },
        "sport_event_status": status,
    }  # fmt: skip


def test_sportradar_parse_soccer_summaries_keeps_the_epl_only() -> None:
    live = {"status": "live", "match_status": "1st_half", "home_score": 1, "away_score": 0,
            "clock": {"played": "18:45"}}  # fmt: skip
    payload = {
        "generated_at": "2024-10-19T14:19:00+00:00",
        "summaries": [
            soccer_summary("sr:sport_event:1", "sr:competition:17", live),
            soccer_summary("sr:sport_event:2", "sr:competition:8", live),
            soccer_summary("sr:sport_event:3", "sr:competition:17", {"status": "halftime?"}),
            soccer_summary("sr:sport_event:4", "sr:competition:17",
                           {"status": "closed", "match_status": "ended", "home_score": 2,
                            "away_score": 2}),
            {"sport_event": None},
        ],
    }  # fmt: skip
    games, skipped_count = parse_soccer_summaries(payload, received_at=NOW)
    assert skipped_count == 2
    first, ended = games
    assert first.event_id == "sportradar:sr:sport_event:1"
    assert (first.home_team, first.away_team, first.status) == ("Arsenal", "Chelsea", "in_progress")
    assert (first.home_score, first.away_score, first.period, first.clock) == (1, 0, 1, "18:45")
    assert first.seconds_remaining == 5400.0 - 1125.0
    assert first.source_time == datetime(2024, 10, 19, 14, 19, tzinfo=UTC)
    assert (ended.status, ended.home_score, ended.seconds_remaining) == ("final", 2, 0.0)
    halftime = {"status": "live", "match_status": "halftime", "clock": {"played": "45:00"}}
    payload = {"summaries": [soccer_summary("e", "sr:competition:17", halftime)]}
    (state,), _ = parse_soccer_summaries(payload, received_at=NOW)
    assert (state.period, state.seconds_remaining) == (1, 2700.0)


@pytest.mark.parametrize("payload", [[], "text", {"games": {"id": 1}}, {}])
def test_sportradar_parse_wrong_shapes_count_as_skipped(payload: Any) -> None:
    assert parse_schedule(payload, "basketball_nba", received_at=NOW) == ([], 1)
    assert parse_soccer_summaries(payload, received_at=NOW) == ([], 1)


def test_sportradar_clock_seconds() -> None:
    assert clock_seconds("12:00") == 720.0
    assert clock_seconds("07:30") == 450.0
    assert clock_seconds("95:10") == 5710.0
    for bad in ("", "12", "a:b", "-1:00"):
        with pytest.raises(ValueError):
            clock_seconds(bad)
