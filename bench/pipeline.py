"""From a poller's normalised message to the prediction leaving the predictor.

The real FeatureCache and Predictor actors with the shipped models (compiled), fed by an
open-loop schedule: `events` live NBA games, each repriced once a second, the updates spread
evenly over the second. Latency runs from an update's intended send time to the moment the
predictor hands the event's next prediction to its sink, so a stall anywhere is counted.
Conflation can fold two updates of one event into one prediction; both are then charged until
that prediction, and the number folded is reported.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from a1rt.messages import GameState, OddsUpdate, OutcomePrice, Prediction
from a1rt.metrics import Metrics
from a1rt.models import ModelRegistry
from a1rt.models.simulation.schedule import NBA_EVENING
from a1rt.models.simulation.world import World
from a1rt.pipeline.feature_cache import FeatureCache
from a1rt.pipeline.poller import Poller
from a1rt.pipeline.predictor import Predictor
from a1rt.pipeline.simulated_source import SimulatedSource
from a1rt.pipeline.source_status import SourceBoard

from .inference import MODELS_DIR, build_dir
from .stats import summary_us

MODEL = "basketball_nba_h2h"
SIM_SPEED = 600.0
BOOKS = ("pinnacle", "draftkings", "fanduel")
TARGET_P99_MS = 10.0
POLL_INTERVAL = 1.0


def _game(i: int, start: datetime, now: datetime) -> GameState:
    return GameState(
        event_id=f"bench:{i}", sport="basketball_nba", home_team=f"Home {i}",
        away_team=f"Away {i}", commence_time=start, status="in_progress", source="bench",
        received_at=now, home_score=50, away_score=48, period=2, clock="5:00",
        seconds_remaining=1740.0,
    )  # fmt: skip


def _odds(i: int, step: int, book: str, start: datetime) -> OddsUpdate:
    home = 1.60 + 0.01 * ((step + i) % 40)  # a new price every update
    away = 1.0 / (1.025 - 1.0 / home)  # a 2.5% margin
    return OddsUpdate(
        event_id=f"bench:{i}", sport="basketball_nba", home_team=f"Home {i}",
        away_team=f"Away {i}", commence_time=start, book=book, market="h2h",
        outcomes=(OutcomePrice(name=f"Home {i}", price=home),
                  OutcomePrice(name=f"Away {i}", price=away)),
        source="bench", received_at=datetime.now(UTC),
    )  # fmt: skip


async def _measure(registry: ModelRegistry, events: int, seconds: float) -> dict[str, Any]:
    metrics = Metrics()
    board = SourceBoard(("bench",), metrics)
    pending: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latencies: list[float] = []
    from_send: list[float] = []
    folded = 0

    def made(prediction: Prediction) -> None:
        nonlocal folded
        sent = pending.pop(prediction.event_id or "", [])
        done = time.perf_counter()
        latencies.extend(done - intended for intended, _ in sent)
        from_send.extend(done - actual for _, actual in sent)
        folded += max(0, len(sent) - 1)

    predictor = Predictor(registry, metrics, sink=made)
    cache = FeatureCache(registry, board, metrics, predict=predictor.tell)
    start = datetime.now(UTC) - timedelta(minutes=30)
    now = datetime.now(UTC)
    async with anyio.create_task_group() as tg:
        await tg.start(predictor.run)
        await tg.start(cache.run)
        for i in range(events):
            await cache.tell(_game(i, start, now))
            board.succeeded("bench", "basketball_nba", [_game(i, start, now)], None)
        with anyio.fail_after(30):
            while len(cache.events) < events:
                await anyio.sleep(0.01)
        canonical = [cache.find(f"bench:{i}").event_id for i in range(events)]  # type: ignore[union-attr]
        gap = 1.0 / events
        total = int(seconds * events)
        began = time.perf_counter()
        for n in range(total):
            intended = began + n * gap
            delay = intended - time.perf_counter()
            if delay > 0:
                await anyio.sleep(delay)
            i, step = n % events, n // events
            pending[canonical[i]].append((intended, time.perf_counter()))
            await cache.tell(_odds(i, step, BOOKS[step % len(BOOKS)], start))
        with anyio.move_on_after(5):
            while pending:
                await anyio.sleep(0.01)
        elapsed = time.perf_counter() - began
        cache.request_stop()
        predictor.request_stop()
    warm = latencies[events:]  # the first second warms the model and the caches
    figures = summary_us(warm)
    return {
        "updates_sent": total,
        "updates_per_s": round(total / elapsed, 1),
        "predictions_latency": figures,
        "from_actual_send": summary_us(from_send[events:]),
        "updates_folded_by_conflation": folded,
        "unanswered": sum(len(v) for v in pending.values()),
        "target": {"p99_ms_under": TARGET_P99_MS, "met": figures["p99_us"] < TARGET_P99_MS * 1e3},
    }


async def _from_source(registry: ModelRegistry, seconds: float) -> dict[str, Any]:
    """The simulated World reprices a book at its own moments (`source_time`); the poller reads
    it every POLL_INTERVAL seconds. Each h2h prediction is charged from the newest price it saw
    to the moment it left the predictor: at most one interval plus processing, the target."""
    metrics = Metrics()
    board = SourceBoard(("simulated",), metrics)
    ages: list[float] = []
    charged: set[tuple[str, datetime]] = set()
    holder: list[FeatureCache] = []

    def made(prediction: Prediction) -> None:
        event = holder[0].find(prediction.event_id or "")
        if event is None or not prediction.model.endswith("_h2h"):
            return
        newest = max(
            (p[-1].source_time for (_, m), p in event.odds.items() if m == "h2h"),
            key=lambda t: t or datetime.min.replace(tzinfo=UTC),
            default=None,
        )
        if newest is not None and (event.event_id, newest) not in charged:
            charged.add((event.event_id, newest))
            ages.append((datetime.now(UTC) - newest).total_seconds())

    predictor = Predictor(registry, metrics, sink=made)
    cache = FeatureCache(registry, board, metrics, predict=predictor.tell)
    holder.append(cache)
    now = time.time()  # an NBA evening, so the World reprices at whatever hour the bench runs
    evening = World.start_at_time_of_day(NBA_EVENING, SIM_SPEED, now)
    source = SimulatedSource(speed=SIM_SPEED, start=evening)
    poller = Poller(source, None, cache.tell, board, interval=POLL_INTERVAL)
    async with anyio.create_task_group() as tg:
        await tg.start(predictor.run)
        await tg.start(cache.run)
        await poller.poll_once()  # builds the seasons: not measured
        ages.clear()
        charged.clear()
        await tg.start(poller.run)
        await anyio.sleep(seconds)
        poller.request_stop()
        cache.request_stop()
        predictor.request_stop()
    bound = POLL_INTERVAL + 1.0
    if not ages:  # the World repriced nothing in the window
        return {"poll_interval_s": POLL_INTERVAL, "price_to_prediction": {"n": 0},
                "target": {"max_s_under": bound, "met": False}}  # fmt: skip
    figures = {k.replace("_us", "_s"): round(v / 1e6, 3) for k, v in summary_us(ages).items()}
    figures["n"] = len(ages)
    return {
        "poll_interval_s": POLL_INTERVAL,
        "price_to_prediction": figures,
        "target": {"max_s_under": bound, "met": figures["max_s"] < bound},
    }


def run(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Measure and return the figures (``smoke``: ~1 s a phase, to prove it runs)."""
    events = 20 if smoke else 200
    seconds = 1.5 if smoke else 3.0 if quick else 30.0  # the first second is warm-up
    registry = ModelRegistry(MODELS_DIR, build_dir())
    registry.load_all()
    gc.freeze()  # as `a1rt serve` does once its models are loaded (`pipeline/model_watcher.py`)
    result: dict[str, Any] = anyio.run(
        _measure, registry, events, seconds, backend_options={"use_uvloop": True}
    )
    result["source_to_prediction"] = anyio.run(
        _from_source,
        registry,
        3.0 if smoke else 10.0 if quick else 60.0,
        backend_options={"use_uvloop": True},
    )
    result["config"] = {
        "events": events, "updates_per_event_per_s": 1, "seconds": seconds, "model": MODEL,
        "backend": registry.get(MODEL).backend, "loop": "uvloop",
        "path": "FeatureCache.tell(OddsUpdate) -> features -> Predictor -> sink",
    }  # fmt: skip
    return result
