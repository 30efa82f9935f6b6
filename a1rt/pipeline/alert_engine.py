"""The alert engine actor: betting opportunities and system alerts, from predictions and odds.

It receives every OddsUpdate (re-keyed to the canonical event), every Prediction, each final
GameState and, every `alert_check_interval` seconds, a Tick of its own. Its mailbox conflates
(the latest odds per event, book and market, the latest prediction per event, model and subject
win while they wait); finals and ticks are kept. Each batch re-evaluates each touched event
market once (opportunities.py), and a tick runs the system rules (system_alerts.py), resolves
cleared steam, and closes opportunities whose prices went stale.

Opportunities are deduplicated per slot (opportunity_book.py); a slot that no longer holds is
closed, published as `{"opportunity_id", "status": "closed", ...}` on the channel (the stored
row stays as detected). Alerts go through `AlertBook` (dedup, cooldown,
resolution). Every record goes, without waiting, to `store` (the persister) and `publish` (the
publisher); time comes from one injectable clock, wall time included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
from anyio.abc import TaskStatus
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors import Actor, ActorStats, Clock, MailboxClosed, MailboxFull, MonotonicClock, Overflow

from ..config import Settings
from ..logs import get_logger
from ..messages import GameState, OddsUpdate, Prediction
from ..metrics import Metrics
from ..models import ModelError, ModelRegistry
from ..store import AlertRecord, OpportunityRecord
from .opportunities import (
    EventOdds,
    arbitrages,
    best_middle,
    market_of,
    median_line,
    value_bets,
)
from .opportunity_book import (
    Found,
    OpportunityBook,
    Scope,
    arbitrage_record,
    closure,
    middle_record,
    value_record,
)
from .publisher import sport_of_model
from .source_status import SourceBoard
from .steam import SteamTracker, steam_conditions
from .system_alerts import (
    Alert,
    AlertBook,
    Condition,
    DiskCollector,
    DriftMonitor,
    LatencyWindow,
    RestartRate,
    disk_conditions,
    source_conditions,
)

log = get_logger(__name__)

MARKETS = ("h2h", "spreads", "totals")
SYSTEM_KINDS = frozenset({"source_breaker_open", "data_lag", "actor_restarts", "model_drift",
                          "prediction_latency", "disk_full"})  # fmt: skip
STEAM_KINDS = frozenset({"steam"})
CHECK_SLICE_S = 0.001  # a tick's checks give the loop back at least this often
KEEP_EVENTS_AFTER_START = timedelta(hours=12)
OPPORTUNITY_KINDS = ("value", "arbitrage", "middle")


class Tick(msgspec.Struct, frozen=True, tag=True):
    """Run the periodic checks now."""


EngineMessage = OddsUpdate | Prediction | GameState | Tick


def _mailbox_key(message: object) -> Hashable:
    if isinstance(message, OddsUpdate):
        return ("odds", message.event_id, message.book, message.market)
    if isinstance(message, Prediction):
        return ("prediction", message.event_id, message.model, message.subject)
    if isinstance(message, Tick):
        return ("tick",)
    return ("event", id(message))


class AlertEngine(Actor[EngineMessage, None]):
    """Finds value bets, arbitrage, middles and steam, and raises and resolves system alerts;
    `opportunities()` and `alerts()` are what the REST routes show."""

    def __init__(
        self,
        settings: Settings,
        *,
        board: SourceBoard | None = None,
        actor_stats: Callable[[], Iterable[ActorStats]] | None = None,
        models: ModelRegistry | None = None,
        metrics: Metrics | None = None,
        store: Callable[[Any], None] | None = None,
        publish: Callable[[Any], object] | None = None,  # its result is ignored
        leading: Callable[[], bool] = lambda: True,
        clock: Clock | None = None,
        check_interval: float | None = None,
        data_dir: Path | None = None,
        capacity: int = 20_000,
    ) -> None:
        """`check_interval` None: the settings' interval; 0: no ticker (send Tick yourself).
        `leading` False (a cluster's follower): alerts are tracked but not announced, counted
        or logged as raised, since the leader's are the ones stored and published."""
        super().__init__("alert-engine", capacity=capacity, overflow=Overflow.CONFLATE,
                         key=_mailbox_key, batch=256)  # fmt: skip
        s = self.settings = settings
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._origin = (datetime.now(UTC), self.clock.now())
        self.board = board
        self.models = models
        self._actor_stats = actor_stats
        self._store = store
        self._publish = publish
        self._leading = leading
        self.check_interval = s.alert_check_interval if check_interval is None else check_interval
        self.data_dir = data_dir if data_dir is not None else s.data_dir
        self.events: dict[str, EventOdds] = {}
        self.predictions: dict[tuple[str, str], Prediction] = {}  # event, model -> latest
        self._pregame: dict[tuple[str, str], tuple[Prediction, float | None]] = {}
        self.opportunity_book = OpportunityBook()
        self.book = AlertBook(cooldown=s.alert_cooldown)
        self.steam = SteamTracker(window=s.steam_window, threshold=s.steam_threshold,
                                  points=s.steam_points)  # fmt: skip
        self.restarts = RestartRate(limit=s.alert_restart_limit, window=s.alert_restart_window)
        self.drift = DriftMonitor(window=s.drift_window, min_samples=s.drift_min_samples,
                                  tolerance=s.drift_tolerance)  # fmt: skip
        registry = None if metrics is None else metrics.registry
        self.latency = LatencyWindow(registry, "a1rt_inference_seconds",
                                     target=s.latency_p99_target)  # fmt: skip
        self._found = Counter("a1rt_opportunities", "Opportunity records published", ["kind"],
                              registry=registry)  # fmt: skip
        self._raised = Counter("a1rt_alerts", "Alert records raised (not resolutions)",
                               ["kind", "severity"], registry=registry)  # fmt: skip
        if registry is not None:
            registry.register(_EngineCollector(self))
            registry.register(DiskCollector(self.data_dir))

    # --- feeding -------------------------------------------------------------------------

    def wall(self) -> datetime:
        """The engine's clock as UTC wall time (a manual clock moves it too)."""
        started, mono = self._origin
        return started + timedelta(seconds=self.clock.now() - mono)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """One incarnation, with a ticker beside it sending Tick every check interval."""
        if not self.check_interval:
            await super().run(task_status=task_status)
            return
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._tick_forever)
            try:
                await super().run(task_status=task_status)
            except Exception as exc:  # re-raised bare, as the supervisor expects
                failure = exc
            finally:
                tg.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _tick_forever(self) -> None:
        while True:
            await self.clock.sleep(self.check_interval)
            try:
                self.tell_nowait(Tick())
            except MailboxFull:
                continue
            except MailboxClosed:
                return

    async def handle_batch(self, messages: list[EngineMessage]) -> list[None]:
        self.apply([m for m in messages if not isinstance(m, Tick)])
        if any(isinstance(m, Tick) for m in messages):  # as `apply` would, but in slices
            started = time.perf_counter()
            for _ in self._checks():
                if time.perf_counter() - started > CHECK_SLICE_S:
                    await anyio.lowlevel.checkpoint()
                    started = time.perf_counter()
        return [None] * len(messages)

    def apply(self, messages: Iterable[EngineMessage]) -> list[OpportunityRecord | AlertRecord]:
        """Handle messages at once (what the actor does with each batch); returns the records
        emitted."""
        out: list[OpportunityRecord | AlertRecord] = []
        touched: dict[tuple[str, str], None] = {}
        sharp = False
        tick = False
        for message in messages:
            if isinstance(message, OddsUpdate):
                self._odds(message)
                touched[(message.event_id, message.market)] = None
                sharp = sharp or message.book == self.settings.sharp_book
            elif isinstance(message, Prediction):
                market = self._prediction(message)
                if market is not None:
                    touched[(message.event_id or "", market)] = None
            elif isinstance(message, GameState):
                out += self._final(message)
            elif isinstance(message, Tick):
                tick = True
        for event_id, market in touched:
            out += self._evaluate(event_id, market)
        if sharp:
            out += self._steam(resolve=False)
        if tick:
            out += self.check()
        return out

    def _odds(self, update: OddsUpdate) -> None:
        event = self.events.get(update.event_id)
        if event is None:
            event = self.events[update.event_id] = EventOdds.of(update)
        event.apply(update)
        if update.book == self.settings.sharp_book:
            self.steam.observe(update, self.clock.now())

    def _prediction(self, prediction: Prediction) -> str | None:
        if prediction.event_id is None or prediction.subject is not None:
            return None
        key = (prediction.event_id, prediction.model)
        self.predictions[key] = prediction
        event = self.events.get(prediction.event_id)
        sport = event.sport if event is not None else sport_of_model(prediction.model)
        market = None if sport is None else market_of(prediction.model, sport)
        if event is not None and market is not None and self.wall() < event.commence_time:
            line = median_line(event) if market == "totals" else None
            self._pregame[key] = (prediction, line)
        return market

    # --- opportunities -------------------------------------------------------------------

    def _evaluate(self, event_id: str, market: str) -> list[OpportunityRecord | AlertRecord]:
        event = self.events.get(event_id)
        found: list[Found] = []
        if event is not None:
            s, now = self.settings, self.wall()
            prediction = self.predictions.get((event_id, f"{event.sport}_{market}"))
            if prediction is not None:
                bets = value_bets(prediction, event, min_edge=s.value_min_edge,
                                  kelly_fraction=s.kelly_fraction, max_age=s.stale_price_age,
                                  now=now)  # fmt: skip
                found += [value_record(event, prediction, b, now, s.kelly_fraction) for b in bets]
            for arb in arbitrages(event, market, now=now, max_age=s.stale_price_age):
                found.append(arbitrage_record(event, arb, now))
            mid = best_middle(event, market, now=now, max_age=s.stale_price_age,
                              min_ev=s.middle_min_ev)  # fmt: skip
            if mid is not None:
                found.append(middle_record(event, mid, now))
        return self._reconcile((event_id, market), found)

    def _reconcile(self, scope: Scope, found: list[Found]) -> list[OpportunityRecord | AlertRecord]:
        published, closed = self.opportunity_book.reconcile(scope, found)
        for record in published:
            self._found.labels(record.kind).inc()
            self._emit(record)
        if self._publish is not None:
            for record in closed:
                self._publish(closure(record, self.wall()))
        return list(published)

    def opportunities(self) -> list[OpportunityRecord]:
        """The open opportunities, best edge first."""
        return self.opportunity_book.records()

    # --- alerts --------------------------------------------------------------------------

    def _steam(self, *, resolve: bool) -> list[OpportunityRecord | AlertRecord]:
        moves = self.steam.moves(self.clock.now())
        s = self.settings
        conditions = steam_conditions(moves, threshold=s.steam_threshold, points=s.steam_points)
        return self._alerts(conditions, STEAM_KINDS, resolve=resolve)

    def _alerts(self, conditions: list[Condition], kinds: frozenset[str], *, resolve: bool
                ) -> list[OpportunityRecord | AlertRecord]:  # fmt: skip
        records = self.book.reconcile(conditions, now=self.clock.now(), at=self.wall(),
                                      kinds=kinds, resolve=resolve)  # fmt: skip
        for record in records:
            if record.details.get("state") == "active" and self._leading():
                self._raised.labels(record.kind, record.severity).inc()
                log.info("alert raised", kind=record.kind, severity=record.severity,
                         message=record.message)  # fmt: skip
            self._emit(record)
        return list(records)

    def check(self) -> list[OpportunityRecord | AlertRecord]:
        """The periodic checks: system rules, steam resolution, stale and old prices."""
        return [record for step in self._checks() for record in step]

    def _checks(self) -> Iterator[list[OpportunityRecord | AlertRecord]]:
        """`check` one step at a time (the rules, then each open opportunity's market), so
        the actor can let the loop serve requests between steps: re-evaluating every open
        market took 11–15 ms at once, every tick, which REST requests felt as tail latency."""
        s, now = self.settings, self.clock.now()
        conditions: list[Condition] = []
        if self.board is not None:
            conditions += source_conditions(self.board.all(), max_lag=s.alert_max_lag)
        if self._actor_stats is not None:
            conditions += self.restarts.conditions(self._actor_stats(), now)
        conditions += self.drift.conditions(self.evaluated_log_loss)
        conditions += self.latency.conditions(now)
        conditions += disk_conditions(self.data_dir, min_free=s.disk_min_free)
        yield self._alerts(conditions, SYSTEM_KINDS, resolve=True)
        yield self._steam(resolve=True)
        for scope in self.opportunity_book.scopes():
            yield self._evaluate(*scope)  # closes what went stale
        self._forget_old()

    def evaluated_log_loss(self, model: str) -> float | None:
        if self.models is None:
            return None
        try:
            evaluation = self.models.get(model).manifest.evaluation or {}
        except ModelError:
            return None
        value = evaluation.get("log_loss")
        return float(value) if isinstance(value, int | float) else None

    def _final(self, game: GameState) -> list[OpportunityRecord | AlertRecord]:
        if game.status != "final":
            return []
        for key in [k for k in self._pregame if k[0] == game.event_id]:
            prediction, line = self._pregame.pop(key)
            label = _winner(prediction, game, line)
            if label is not None and label in prediction.probabilities:
                self.drift.add(prediction.model, prediction.probabilities[label])
        return self._forget(game.event_id)

    def _forget(self, event_id: str) -> list[OpportunityRecord | AlertRecord]:
        self.events.pop(event_id, None)
        self.steam.forget(event_id)
        for key in [k for k in self.predictions if k[0] == event_id]:
            del self.predictions[key]
        out: list[OpportunityRecord | AlertRecord] = []
        for market in MARKETS:
            out += self._reconcile((event_id, market), [])
        return out

    def _forget_old(self) -> None:
        now = self.wall()
        for event_id, event in list(self.events.items()):
            if event.commence_time + KEEP_EVENTS_AFTER_START < now:
                self._forget(event_id)
                for key in [k for k in self._pregame if k[0] == event_id]:
                    del self._pregame[key]

    def alerts(self) -> list[Alert]:
        """Recent alerts, newest first (each active or resolved)."""
        return self.book.alerts()

    def _emit(self, record: OpportunityRecord | AlertRecord) -> None:
        if self._store is not None:
            self._store(record)
        if self._publish is not None:
            self._publish(record)


def _winner(prediction: Prediction, game: GameState, line: float | None) -> str | None:
    """Which of the prediction's outcomes happened (None: a push, or unknown)."""
    labels = set(prediction.probabilities)
    if labels >= {"over", "under"}:
        total = game.home_score + game.away_score
        if line is None or total == line:
            return None
        return "over" if total > line else "under"
    if game.home_score > game.away_score:
        return "home"
    if game.home_score < game.away_score:
        return "away"
    return "draw" if "draw" in labels else None


class _EngineCollector(Collector):
    """Open opportunities by kind and active alerts by severity, read at scrape time (every
    label value always present, so a rule sees 0 rather than no series)."""

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        opened = GaugeMetricFamily("a1rt_opportunities_open", "Open betting opportunities",
                                   labels=["kind"])  # fmt: skip
        kinds: list[str] = [r.kind for r in self.engine.opportunities()]
        for kind in OPPORTUNITY_KINDS:
            opened.add_metric([kind], kinds.count(kind))
        active = GaugeMetricFamily("a1rt_alerts_active", "Active alerts", labels=["severity"])
        severities: list[str] = [a.record.severity for a in list(self.engine.book.active.values())]
        for severity in ("info", "warning", "critical"):
            active.add_metric([severity], severities.count(severity))
        live = GaugeMetricFamily("a1rt_model_live_log_loss",
                                 "Rolling log loss of finished events' pre-game predictions",
                                 labels=["model"])  # fmt: skip
        reference = GaugeMetricFamily("a1rt_model_evaluation_log_loss",
                                      "Log loss of the serving model's evaluation",
                                      labels=["model"])  # fmt: skip
        samples = GaugeMetricFamily("a1rt_model_live_samples",
                                    "Finished events in the rolling live log loss",
                                    labels=["model"])  # fmt: skip
        drift = self.engine.drift
        for model in list(drift.losses):
            loss = drift.live_log_loss(model)
            if loss is None:
                continue
            live.add_metric([model], loss)
            samples.add_metric([model], len(drift.losses[model]))
            evaluated = self.engine.evaluated_log_loss(model)
            if evaluated is not None:
                reference.add_metric([model], evaluated)
        yield from (opened, active, live, reference, samples)
