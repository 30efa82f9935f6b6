"""One replica's running system: its supervision tree and what it reports.

With A1RT_REDIS_URL the replica is one of a cluster: a leadership service contends for the
leader lease and runs the pollers only while it holds it; the publisher appends to the channel
streams (leader) or publishes nothing (follower); a stream reader feeds every replica's hub, and
a follower's feature cache, from the streams. Only the leader stores rows, settles bets and
lets the alert engine's findings out, so nothing is stored or alerted twice.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable

import anyio
import msgspec
from anyio.abc import TaskStatus
from redis.asyncio import Redis

from actors import (
    ActorStats,
    ChildSpec,
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
from .channel import Publication
from .fanout import Fanout
from .feature_cache import FeatureCache
from .hub import Hub
from .leadership import Leadership
from .lease import Lease
from .model_watcher import ModelWatcher
from .predictor import Predictor
from .publisher import Publisher
from .source_status import SourceBoard
from .sources_setup import build_pollers
from .stream_reader import StreamReader, source_message
from .tree import build_tree

log = get_logger(__name__)


class Runtime:
    """Owns the actors; the web app and the CLI start and stop it."""

    def __init__(
        self,
        settings: Settings,
        *,
        conninfo: str | None = None,
        live: bool = True,
        worker: int | None = None,
    ) -> None:
        """Without `conninfo` nothing is stored (tests of serving alone); `a1rt serve` always
        passes one (A1RT_DATABASE_URL or the embedded server). `live=False` runs no pollers.
        `worker` numbers the replicas of `serve --workers` that share one data directory (each
        keeps its own persister journal there)."""
        self.settings = settings
        self.conninfo = conninfo  # auth (a1rt.web.auth): API keys are read from this database
        self.metrics = Metrics()
        self.health = HealthRegistry()
        self.models = ModelRegistry(settings.models_dir, settings.data_dir / "build")
        self.persister = (
            None
            if conninfo is None
            else Persister(
                conninfo,
                settings.data_dir,
                health=self.health,
                metrics=self.metrics,
                name="persister" if worker is None else f"persister-{worker}",
            )  # fmt: skip
        )
        # Bets, settlement on final results, model performance: its own pool, beside storage.
        self.ledger = None if conninfo is None else Ledger(conninfo, registry=self.metrics.registry)
        self.hub = Hub(metrics=self.metrics)  # the websocket stream's channels
        # With Redis: the providers' response cache is shared, and the replicas form a cluster.
        self.redis = (
            None
            if settings.redis_url is None
            else Redis.from_url(settings.redis_url, socket_connect_timeout=2.0)
        )
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease = (
            None if self.redis is None else Lease(self.redis, self.replica, ttl=settings.lease_ttl)
        )
        fanout = (
            None
            if self.redis is None or self.lease is None
            else Fanout(self.redis, self.lease, maxlen=settings.stream_maxlen)
        )
        self.publisher = Publisher(self.hub, self.metrics, fanout=fanout)
        self.predictor = Predictor(self.models, self.metrics, sink=self._made)
        self.board = SourceBoard(settings.sources, self.metrics, max_age=settings.source_max_age)
        self.alert_engine = AlertEngine(
            settings, board=self.board, actor_stats=self.actor_stats, models=self.models,
            metrics=self.metrics, store=self._keep, publish=self.publisher.offer,
            leading=lambda: self.leading,
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
        io: list[Publisher | StreamReader | ChildSpec] = [self.publisher]
        self.reader = (
            None
            if self.redis is None
            else StreamReader(self.redis, self.hub, self.health, self.metrics,
                              on_publication=self._learned)
        )  # fmt: skip
        if self.reader is not None:
            io.append(self.reader)
        self.leadership: Leadership | None = None
        if self.persister is not None:
            io.append(ChildSpec(self.persister, shutdown=6.0))
        if self.ledger is not None:
            io.append(ChildSpec(self.ledger, shutdown=3.0))
        self.tree: Supervisor = build_tree(
            io=io,
            pipeline=[self.feature_cache, self.predictor, self.alert_engine, self.model_watcher],
            sources=self.pollers,
            leadership=None if self.lease is None else self._lead,
        )
        self.fatal: BaseException | None = None
        self._on_fatal: list[Callable[[BaseException], None]] = []
        self._stopped: anyio.Event | None = None
        self.metrics.watch_actors(self.actor_stats)
        self.health.register("actors")

    @property
    def leading(self) -> bool:
        """Whether this replica acts as the leader: always single node; in a cluster, while
        it holds the lease."""
        return self.leadership is None or self.leadership.leading

    def _lead(self, sources: Supervisor) -> Leadership:
        assert self.lease is not None  # noqa: S101 - only asked for in a cluster
        self.leadership = Leadership(self.lease, sources, self.health)
        return self.leadership

    def _learned(self, pub: Publication) -> None:
        """A follower's feature cache learns the leader's games, odds and props from the
        streams (the leader's own come from its pollers)."""
        if self.leading:
            return
        try:
            message = source_message(pub)
        except (msgspec.ValidationError, TypeError) as exc:
            log.error("stream entry is not a source message", channel=pub.channel, error=str(exc))
            return
        if message is not None:
            self.feature_cache.offer(message)

    def _keep(self, row: Persistable) -> None:
        """Hand a row to the persister without waiting (a full mailbox counts the drop); only
        the leader stores."""
        if isinstance(row, OddsUpdate):
            self.alert_engine.offer(row)  # the odds path, under the canonical event id
        if self.persister is not None and self.leading:
            self.persister.offer(row)

    def _final(self, game: GameState) -> None:
        """A game went final: its result stored (durably, by the persister) and handed to the
        ledger, which settles the event's bets; neither waits for the database."""
        result = result_of(game)
        self._keep(result)
        self.alert_engine.offer(game)  # live log loss for drift; the event's odds forgotten
        if self.ledger is not None and self.leading:
            self.ledger.result_nowait(result)

    def _made(self, prediction: Prediction) -> None:
        """Every prediction: stored, and an event's one published and back to the feature
        cache. None of it ever makes the predictor wait (a full mailbox counts the drop)."""
        self._keep(prediction)
        if prediction.event_id is not None:
            self.publisher.offer(prediction)  # never waits; a refusal is counted
            self.alert_engine.offer(prediction)  # value bets (never waits; refusals counted)
            self.feature_cache.offer(prediction)

    def actor_stats(self) -> list[ActorStats]:
        """Every actor's counters, for metrics."""
        actors = list(self.tree.actors())
        if self.leadership is not None:  # the pollers run below the leadership service
            actors += self.leadership.sources.actors()
        return [actor.stats() for actor in actors]

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
