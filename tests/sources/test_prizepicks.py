"""The PrizePicks provider through a real SourceClient against the emulator, and its parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from a1rt.messages import PropLine, SourceMessage
from a1rt.metrics import Metrics
from a1rt.models.simulation.world import World
from a1rt.sources import SourceAuthError, SourceClient, SourceError, Timeouts
from a1rt.sources.prizepicks import PrizePicks, parse_projections, stat_key
from tests.emulators.base import Fault
from tests.emulators.prizepicks import PrizePicksEmulator
from tests.sources import providers_kit as kit

START = datetime(2026, 12, 1, 17, tzinfo=UTC).timestamp()
TIMEOUTS = Timeouts(connect=1.0, read=0.5, total=3.0)
NOW = datetime(2023, 12, 28, 20, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    return kit.built_worlds({"basketball_nba": START}, start=START)


@pytest.fixture
async def emulator(
    anyio_backend: str, worlds: dict[str, World]
) -> AsyncIterator[PrizePicksEmulator]:
    emu = PrizePicksEmulator(("basketball_nba",), start=START, worlds=worlds)
    emu.now = START
    async with emu:
        yield emu


def client_for(emu: PrizePicksEmulator, metrics: Metrics | None = None) -> SourceClient:
    return kit.make_client("prizepicks", emu.url, metrics=metrics, timeouts=TIMEOUTS)


async def poll(
    emu: PrizePicksEmulator,
    sport: str = "basketball_nba",
    *,
    provider: PrizePicks | None = None,
    metrics: Metrics | None = None,
) -> list[SourceMessage]:
    provider = provider if provider is not None else PrizePicks(metrics=metrics)
    async with client_for(emu, metrics) as client:
        return await provider.poll(client, sport)


# --- against the emulator ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_prizepicks_poll_reports_the_worlds_props(emulator: PrizePicksEmulator) -> None:
    lines = await poll(emulator)
    board = emulator.board("basketball_nba")
    expected = {
        (f"prizepicks:{emulator.game_id(event)}", player, stat): quote
        for (event, player, stat), quote in board.items()
    }
    assert len(board) > 0
    got = {}
    for line in lines:
        assert isinstance(line, PropLine)
        got[(line.event_id, line.player, line.stat)] = line
    assert got.keys() == expected.keys()
    for key, line in got.items():
        quote = expected[key]
        assert (line.line, line.team, line.sport) == (quote.line, quote.team, "basketball_nba")
        assert (line.over_price, line.under_price, line.source) == (None, None, "prizepicks")
        assert line.source_time == datetime.fromtimestamp(int(quote.last_update), UTC)
    assert {line.stat for line in got.values()} == {"points", "rebounds", "assists"}
    assert dict(emulator.hits) == {"/leagues": 1, "/projections": 1}


@pytest.mark.anyio
async def test_prizepicks_leagues_are_resolved_once_and_cached(
    emulator: PrizePicksEmulator,
) -> None:
    now = [0.0]
    provider = PrizePicks(leagues_ttl=600.0, clock=lambda: now[0])
    async with client_for(emulator) as client:
        assert len(await provider.poll(client, "basketball_nba")) > 0
        assert await provider.poll(client, "americanfootball_nfl") == []
        assert await provider.poll(client, "soccer_epl") == []
        assert emulator.hits["/leagues"] == 1
        soccer = await provider.league_for(client, "soccer_epl")
        assert soccer is not None and (soccer.id, soccer.name) == ("82", "SOCCER")
        now[0] = 601.0
        emulator.inactive.add("NBA")
        projections = emulator.hits["/projections"]
        assert await provider.poll(client, "basketball_nba") == []  # off the board: not asked
    assert emulator.hits["/leagues"] == 2
    assert emulator.hits["/projections"] == projections
    with pytest.raises(ValueError, match="mlb"):
        await provider.poll(client, "baseball_mlb")


@pytest.mark.anyio
async def test_prizepicks_pages_through_the_board(emulator: PrizePicksEmulator) -> None:
    total = len(emulator.board("basketball_nba"))
    lines = await poll(emulator, provider=PrizePicks(per_page=40))
    assert len(lines) == total
    assert emulator.hits["/projections"] == -(-total // 40)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "raised"),  # "forbidden" is DataDome's captcha body with 403, or with 200
    kit.fault_cases((Fault("forbidden", status=200), SourceAuthError), delay=1.0),
)
async def test_prizepicks_faults_raise_the_right_source_error(
    emulator: PrizePicksEmulator, fault: Fault, raised: type[SourceError]
) -> None:
    emulator.fault = fault
    with pytest.raises(raised) as caught:
        await poll(emulator)
    assert type(caught.value) is raised
    if fault.kind == "forbidden":
        assert "captcha" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fault",
    [
        Fault("rate_limited", times=2),
        Fault("rate_limited_bare", times=1),
        Fault("server_error", status=503, times=2),
        Fault("slow", delay=1.0, times=1),
        Fault("down", times=1),
    ],
    ids=lambda fault: fault.kind,
)
async def test_prizepicks_passing_faults_are_retried_away(
    emulator: PrizePicksEmulator, fault: Fault
) -> None:
    emulator.fault = fault
    assert len(await poll(emulator)) == len(emulator.board("basketball_nba"))


@pytest.mark.anyio
async def test_prizepicks_malformed_projections_are_skipped_and_counted(
    emulator: PrizePicksEmulator,
) -> None:
    metrics = Metrics()
    emulator.corrupt = 4
    lines = await poll(emulator, metrics=metrics)
    assert len(lines) == len(emulator.board("basketball_nba")) - 4
    assert kit.skipped(metrics, "prizepicks") == 4.0


# --- the parser on hand-written payloads -------------------------------------------------------


def projection(number: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "projection", "id": number,
        "attributes": {
            "adjusted_odds": None, "board_time": "2023-12-01T19:30:00-05:00",
            "description": "DET/BOS", "game_id": "7acd91df-77d5-4d2f-b047-776f85ae40ef",
            "line_score": 5.5, "odds_type": "standard", "projection_type": "Single Stat",
            "start_time": "2023-12-28T19:30:00-05:00", "stat_type": "3-PT Made",
            "status": "pre_game", "updated_at": "2023-12-28T15:03:32-05:00", **attributes,
        },
        "relationships": {
            "new_player": {"data": {"type": "new_player", "id": "53834"}},
            "league": {"data": {"type": "league", "id": "7"}},
            "game": {"data": {"type": "game", "id": "138259"}},
            "score": {"data": None},
        },
    }  # fmt: skip


CURRY = {"type": "new_player", "id": "53834", "attributes": {
    "combo": False, "display_name": "Stephen Curry", "league": "NBA", "league_id": 7,
    "market": "Golden State", "name": "Stephen Curry", "position": "G", "team": "GSW",
    "team_name": "Warriors"}}  # fmt: skip


def test_prizepicks_parse_projections_reads_the_reference_capture() -> None:
    no_game = projection("5", stat_type="Points", line_score=27)
    no_game["relationships"]["game"] = {"data": None}
    combo = projection("6")
    combo["relationships"]["new_player"]["data"]["id"] = "99"
    payload = {
        "data": [
            projection("1"),
            projection("2", odds_type="goblin"),  # an alternate line: left out, not an error
            projection("3", line_score=None),
            {"type": "projection", "id": "4"},
            no_game,
            combo,
        ],
        "included": [
            CURRY,
            {"type": "new_player", "id": "99", "attributes": {"combo": True, "name": "A + B"}},
            {"type": "league", "id": "7", "attributes": {"name": "NBA"}},
            "junk",
        ],
        "links": {},
        "meta": {},
    }
    lines, skipped_count = parse_projections(payload, "basketball_nba", received_at=NOW)
    assert skipped_count == 2
    first, by_attribute = lines
    assert first == PropLine(
        event_id="prizepicks:138259",
        sport="basketball_nba",
        player="Stephen Curry",
        team="Golden State Warriors",
        stat="3_pt_made",
        line=5.5,
        source="prizepicks",
        received_at=NOW,
        source_time=datetime(2023, 12, 28, 20, 3, 32, tzinfo=UTC),
    )
    assert by_attribute.event_id == "prizepicks:7acd91df-77d5-4d2f-b047-776f85ae40ef"
    assert (by_attribute.stat, by_attribute.line) == ("points", 27.0)


@pytest.mark.parametrize("payload", [[], {"data": {"type": "projection"}}, {}, "captcha"])
def test_prizepicks_parse_wrong_shapes_count_as_skipped(payload: Any) -> None:
    assert parse_projections(payload, "basketball_nba", received_at=NOW) == ([], 1)


@pytest.mark.parametrize(
    ("stat_type", "key"),
    [
        ("Points", "points"),
        ("Rebounds", "rebounds"),
        ("Assists", "assists"),
        ("3-PT Made", "3_pt_made"),
        ("Pts+Rebs+Asts", "pts_rebs_asts"),
        ("Fantasy Score", "fantasy_score"),
    ],
)
def test_prizepicks_stat_key(stat_type: str, key: str) -> None:
    assert stat_key(stat_type) == key
