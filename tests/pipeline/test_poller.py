"""The poller: every sport each round, only changes passed on, failures recorded, never raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from a1rt.messages import GameState, SourceMessage
from a1rt.metrics import Metrics
from a1rt.pipeline.poller import Poller
from a1rt.pipeline.source_status import SourceBoard
from a1rt.sources import SourceClient, SourceServerError

pytestmark = pytest.mark.anyio
START = datetime(2026, 12, 2, tzinfo=UTC)


def state(event: str, score: int, received: datetime) -> GameState:
    return GameState(
        event_id=event, sport="basketball_nba", home_team="Miami Heat", away_team="Utah Jazz",
        commence_time=START, status="in_progress", source="fake", received_at=received,
        source_time=received - timedelta(seconds=3), home_score=score,
    )  # fmt: skip


class FakeProvider:
    name = "fake"
    sports = ("basketball_nba", "soccer_epl")

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.score = 0
        self.failing: set[str] = set()

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        self.calls.append(sport)
        if sport in self.failing:
            raise SourceServerError("fake", "HTTP 503", status=503)
        now = datetime.now(UTC)
        return [state(f"fake:{sport}:1", self.score, now), state(f"fake:{sport}:2", 0, now)]


async def test_poller_passes_on_changes_only_and_records_failures() -> None:
    provider = FakeProvider()
    board = SourceBoard(("fake",), Metrics())
    received: list[SourceMessage] = []

    async def sink(message: SourceMessage) -> None:
        received.append(message)

    poller = Poller(provider, None, sink, board, interval=0.01)
    await poller.poll_once()
    assert sorted(provider.calls) == ["basketball_nba", "soccer_epl"]
    assert len(received) == 4
    await poller.poll_once()  # the same again, received later: nothing new
    assert len(received) == 4
    provider.score = 2
    provider.failing = {"soccer_epl"}
    await poller.poll_once()
    assert [m.event_id for m in received[4:]] == ["fake:basketball_nba:1"]
    status = board.get("fake")
    assert status.polls == 6 and status.last_success_at is not None
    assert status.last_error == "soccer_epl: fake: HTTP 503"
    assert status.lag_seconds == pytest.approx(3.0)
    assert board.usable("fake", "basketball_nba")
    assert not board.usable("fake", "americanfootball_nfl")  # never delivered it


async def test_poller_runs_until_stopped_and_fetch_raises_the_source_error() -> None:
    provider = FakeProvider()
    board = SourceBoard(("fake",), Metrics())
    count = 0

    async def sink(message: SourceMessage) -> None:
        nonlocal count
        count += 1

    poller = Poller(provider, None, sink, board, interval=0.01)
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        with anyio.fail_after(10):
            while len(provider.calls) < 6:
                await anyio.sleep(0.01)
        poller.request_stop()
    provider.failing = {"soccer_epl"}
    with pytest.raises(SourceServerError):
        await poller.fetch("soccer_epl")
    assert len(await poller.fetch("basketball_nba")) == 2
