"""One replica's running system: its supervision tree and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis

from actors import (
    Actor,
    ActorStats,
    ChildSpec,
    MailboxClosed,
    MailboxFull,
    Supervisor,
    SupervisorError,
)

from ..config import Settings
from ..errors import StartupError
from ..health import HealthRegistry, Status
from ..logs import get_logger
from ..messages import GameState, OddsUpdate, Prediction
from ..metrics import Metrics
from ..models import ModelRegistry
from ..sources import RedisCache
from ..store import Ledger, Persistable, Persister, result_of
from .alert_engine import AlertEngine
from .feature_cache import FeatureCache
from .hub import Hub
from .model_watcher import ModelWatcher
from .predictor import Predictor
from .publisher import Publisher
from .source_status import SourceBoard
from .sources_setup import build_pollers
from .tree import build_tree

log = get_logger(__name__)


class Runtime:
    """Owns the actors; the web app and the CLI start and stop it."""

    def __init__(
        self, settings: Settings, *, conninfo: str | None = None, live: bool = True
    ) -> None:
        """Without `conninfo` nothing is stored (tests of serving alone); `a1rt serve` always
        passes one (A1RT_DATABASE_URL or the embedded server). `live=False` runs no pollers."""
        self.settings = settings
        self.metrics = Metrics()
        self.health = HealthRegistry()
        self.models = ModelRegistry(settings.models_dir, settings.data_dir / "build")
        self.persister = (
            None
            if conninfo is None
            else Persister(conninfo, settings.data_dir, health=self.health, metrics=self.metrics)
        )
        # Bets, settlement on final results, model performance: its own pool, beside storage.
        self.ledger = None if conninfo is None else Ledger(conninfo, registry=self.metrics.registry)
        self.hub = Hub(metrics=self.metrics)  # the websocket stream's channels
        self.publisher = Publisher(self.hub, self.metrics)
        self.predictor = Predictor(self.models, self.metrics, sink=self._made)
        self.board = SourceBoard(settings.sources, self.metrics, max_age=settings.source_max_age)
        self.alert_engine = AlertEngine(
            settings, board=self.board, actor_stats=self.actor_stats, models=self.models,
            metrics=self.metrics, store=self._keep, publish=self.publisher.offer,
        )  # fmt: skip
        self.feature_cache = FeatureCache(
            self.models,
            self.board,
            self.metrics,
            predict=self.predictor.tell,
            store=self._keep,
            publish=self.publisher.offer,
            on_final=self._final,
        )
        # With Redis, the providers' response cache is shared by the replicas.
        self.redis = None if settings.redis_url is None else Redis.from_url(settings.redis_url)
        cache = None if self.redis is None else RedisCache(self.redis)
        self.pollers = (
            build_pollers(
                settings, self.board, self.feature_cache.tell, self.metrics, self.health,
                cache=cache,
            )
            if live
            else []
        )  # fmt: skip
        self.model_watcher = ModelWatcher(
            self.models, self.health, self.metrics, interval=settings.model_poll_interval
        )
        io: list[Publisher | ChildSpec] = [self.publisher]
        if self.persister is not None:
            io.append(ChildSpec(self.persister, shutdown=6.0))
        if self.ledger is not None:
            io.append(ChildSpec(self.ledger, shutdown=3.0))
        self.tree: Supervisor = build_tree(
            io=io,
            pipeline=[self.feature_cache, self.predictor, self.alert_engine, self.model_watcher],
            sources=self.pollers,
        )
        self.fatal: BaseException | None = None
        self._on_fatal: list[Callable[[BaseException], None]] = []
        self._stopped: anyio.Event | None = None
        self.metrics.watch_actors(self.actor_stats)
        self.health.register("actors")

    def _keep(self, row: Persistable) -> None:
        """Hand a row to the persister without waiting (a full mailbox counts the drop)."""
        if isinstance(row, OddsUpdate):
            self.alert_engine.offer(row)  # the odds path, under the canonical event id
        if self.persister is not None:
            _offer(self.persister, row)

    def _final(self, game: GameState) -> None:
        """A game went final: its result stored (durably, by the persister) and handed to the
        ledger, which settles the event's bets; neither waits for the database."""
        result = result_of(game)
        self._keep(result)
        self.alert_engine.offer(game)  # live log loss for drift; the event's odds forgotten
        if self.ledger is not None:
            self.ledger.result_nowait(result)

    def _made(self, prediction: Prediction) -> None:
        """Every prediction: stored, and an event's one published and back to the feature
        cache. None of it ever makes the predictor wait (a full mailbox counts the drop)."""
        self._keep(prediction)
        if prediction.event_id is not None:
            self.publisher.offer(prediction)  # never waits; a refusal is counted
            self.alert_engine.offer(prediction)  # value bets (never waits; refusals counted)
            _offer(self.feature_cache, prediction)

    def actor_stats(self) -> list[ActorStats]:
        """Every actor's counters, for metrics."""
        return [actor.stats() for actor in self.tree.actors()]

    def on_fatal(self, callback: Callable[[BaseException], None]) -> None:
        """Call `callback` if the supervision tree gives up (the replica cannot go on)."""
        self._on_fatal.append(callback)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the tree, signal ready, run until stopped; a tree failure is reported, not
        raised, so the server can shut down in order."""
        self._stopped = anyio.Event()
        ready = _ReadyReport(task_status, lambda: self.health.report("actors", Status.OK))
        try:
            await self.tree.run(task_status=ready)
        except SupervisorError as exc:
            self.fatal = exc
            self.health.report("actors", Status.DOWN, f"supervision tree failed: {exc}")
            if not ready.reported:
                raise StartupError(f"the actors could not start: {exc}") from exc
            log.critical("supervision tree failed", error=str(exc))
            for callback in self._on_fatal:
                callback(exc)
        finally:
            if self.redis is not None:
                with anyio.CancelScope(shield=True):
                    await self.redis.aclose()
            self._stopped.set()

    def request_stop(self) -> None:
        """Stop the tree gracefully: sources first, io last, each draining its mailbox."""
        self.tree.request_stop()

    async def wait_stopped(self) -> None:
        """Return once `run` has returned (at once if it never started)."""
        if self._stopped is not None:
            await self._stopped.wait()


def _offer(actor: Actor[Any, Any], message: Any) -> None:
    """Tell without waiting; a full or stopped mailbox refuses (the sender never blocks)."""
    try:
        actor.tell_nowait(message)
    except (MailboxFull, MailboxClosed):
        pass


class _ReadyReport:
    """A task status that also runs a callback when the tree says it is ready."""

    def __init__(self, status: TaskStatus[None], on_ready: Callable[[], None]) -> None:
        self._status = status
        self._on_ready = on_ready
        self.reported = False

    def started(self, value: None = None) -> None:
        self.reported = True
        self._on_ready()
        self._status.started(value)
