"""All four providers' real pollers against their emulators, one simulated World behind them:
one game seen by every provider is one event, and a provider going down mid-stream hands its
games to the next source."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from a1rt.messages import PredictRequest, SourceMessage
from a1rt.metrics import Metrics
from a1rt.models import ModelRegistry
from a1rt.models.simulation.world import World
from a1rt.pipeline.feature_cache import FeatureCache
from a1rt.pipeline.poller import Poller
from a1rt.pipeline.source_status import SourceBoard
from a1rt.sources import BreakerPolicy, RetryPolicy, SourceClient, SourceConfig, Timeouts
from a1rt.sources.espn import Espn
from a1rt.sources.odds_api import OddsApi
from a1rt.sources.prizepicks import PrizePicks
from a1rt.sources.sportradar import Sportradar
from tests.emulators import odds_api, sportradar
from tests.emulators.base import Emulator, Fault
from tests.emulators.espn import EspnEmulator
from tests.emulators.odds_api import OddsApiEmulator
from tests.emulators.prizepicks import PrizePicksEmulator
from tests.emulators.sportradar import SportradarEmulator

pytestmark = pytest.mark.anyio
SPORT = "basketball_nba"
START = datetime(2026, 12, 1, 17, tzinfo=UTC).timestamp()  # noon on the US east coast
ORDER = ("sportradar", "odds_api", "espn", "prizepicks")


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    world = World(11, SPORT, START, 60.0)
    world.state_at(START)  # build the season once for the module
    return {SPORT: world}


def live_moment(world: World) -> float:
    for step in range(0, 12 * 3600, 60):
        games = world.state_at(START + step).games
        if any(g.status == "in_progress" for g in games):
            return START + step
    raise AssertionError("no live game in twelve hours")


@dataclass
class Feed:
    emulators: dict[str, Emulator]
    board: SourceBoard
    cache: FeatureCache
    moment: float


def client(name: str, url: str, key: str | None) -> SourceClient:
    config = SourceConfig.for_provider(
        name, url, api_key=key, rate=1000.0, burst=100,
        retry=RetryPolicy(attempts=1), timeouts=Timeouts(connect=1.0, read=1.0, total=3.0),
        breaker=BreakerPolicy(failure_threshold=2, open_for=60.0),
    )  # fmt: skip
    return SourceClient(config, metrics=Metrics(), rng=random.Random(1))


@pytest.fixture
async def feed(worlds: dict[str, World], registry: ModelRegistry) -> AsyncIterator[Feed]:
    moment = live_moment(worlds[SPORT])
    emulators: dict[str, Emulator] = {
        "sportradar": SportradarEmulator((SPORT,), start=START),
        "odds_api": OddsApiEmulator((SPORT,), worlds=worlds, start=START),
        "espn": EspnEmulator((SPORT,), worlds=worlds, start=START),
        "prizepicks": PrizePicksEmulator((SPORT,), start=START),
    }
    for emulator in emulators.values():
        emulator.worlds = dict(worlds)
        emulator.now = moment
    board = SourceBoard(ORDER, Metrics())
    predicted: list[PredictRequest] = []

    async def predict(request: PredictRequest) -> None:
        predicted.append(request)

    cache = FeatureCache(registry, board, Metrics(), predict=predict)
    providers: dict[str, Any] = {
        "sportradar": Sportradar(clock=lambda: datetime.fromtimestamp(moment, UTC)),
        "odds_api": OddsApi(sports=(SPORT,)),
        "espn": Espn(sports=(SPORT,)),
        "prizepicks": PrizePicks(),
    }
    providers["sportradar"].sports = providers["prizepicks"].sports = (SPORT,)
    keys = {"sportradar": sportradar.KEY, "odds_api": odds_api.KEY}
    async with AsyncExitStack() as stack:
        for emulator in emulators.values():
            await stack.enter_async_context(emulator)
        async with anyio.create_task_group() as tg:
            await tg.start(cache.run)
            pollers = []
            for name in ORDER:
                http = client(name, emulators[name].url, keys.get(name))

                async def sink(message: SourceMessage) -> None:
                    await cache.tell(message)

                poller = Poller(providers[name], http, sink, board, interval=0.2)
                pollers.append(poller)
                await tg.start(poller.run)
            yield Feed(emulators, board, cache, moment)
            for poller in pollers:
                poller.request_stop()
            cache.request_stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    from pathlib import Path

    models = Path(__file__).resolve().parents[2] / "compiled_models"
    registry = ModelRegistry(models, tmp_path_factory.mktemp("build"), backend="gtil")
    registry.load_all()
    return registry


async def until(condition: Any, seconds: float = 30.0) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.05)


async def test_one_game_seen_by_all_four_providers_is_one_event(feed: Feed) -> None:
    shown = feed.emulators["odds_api"].state(SPORT).games
    live = [g for g in shown if g.status == "in_progress"]

    def merged() -> bool:
        events = list(feed.cache.events.values())
        return any({"sportradar", "odds_api", "espn"} <= set(e.games) and e.props for e in events)

    await until(merged)
    events = list(feed.cache.events.values())
    assert len(events) == len(shown)  # no game split in two, none invented
    full = [e for e in events if {"sportradar", "odds_api", "espn"} <= set(e.games) and e.props]
    assert full
    event = full[0]
    assert {a.split(":", 1)[0] for a in event.aliases} == set(ORDER)
    assert len({g.home_score for g in event.games.values()}) == 1  # they agree on the score
    assert {p.source for p in event.props.values()} == {"prizepicks"}
    playing = next(e for e in events if e.home_team == live[0].home_team)
    assert {g.status for g in playing.games.values()} == {"in_progress"}
    assert {(g.home_score, g.away_score) for g in playing.games.values()} == {
        (live[0].home_score, live[0].away_score)
    }


async def test_a_source_down_mid_stream_hands_its_games_to_the_next(feed: Feed) -> None:
    def covered() -> bool:
        return any({"sportradar", "odds_api"} <= set(e.games) for e in feed.cache.events.values())

    await until(covered)
    event = next(
        e for e in feed.cache.events.values() if {"sportradar", "odds_api"} <= set(e.games)
    )
    assert feed.cache.merged_game(event).source == "sportradar"  # type: ignore[union-attr]
    feed.emulators["sportradar"].fault = Fault("server_error", status=503)
    await until(lambda: feed.board.get("sportradar").state == "open")
    assert feed.cache.merged_game(event).source == "odds_api"  # type: ignore[union-attr]
    status = feed.board.get("sportradar")
    assert status.last_error is not None and "503" in status.last_error
    assert feed.board.get("odds_api").quota_remaining is not None
