"""The stream reader: every replica (the leader too) feeds its hub from the channel streams.

On start it bootstraps each channel from the newest entries of its stream (`XREVRANGE`, as many
as the channel's history holds), so a replica that starts late has the same history and latest
state per key as the others, and snapshots and resume work on it; then it follows the streams
with one blocking `XREAD` over all of them. Each entry goes to `Hub.accept` stamped with the
cluster-wide position it was appended with, and then to `on_publication` (the runtime feeds a
follower's feature cache from the `games`/`odds`/`props` ones).

The hub never skips silently: an entry whose position does not follow the channel's (a new
epoch, or a seq gap the trimmed stream can no longer fill) empties the channel's history and
makes its live subscribers reconnect and resume, which then answers `recovered: false` with a
snapshot. Redis trouble is retried with backoff and shown as `redis` degraded in /health; the
reader carries on from the last entry it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskStatus
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..health import HealthRegistry, Status
from ..logs import get_logger
from ..messages import GameState, OddsUpdate, PropLine
from ..metrics import Metrics
from .channel import Publication
from .fanout import cluster_position, decode_entry, stream_key
from .hub import Hub

log = get_logger(__name__)

BLOCK_MS = 1000
READ_COUNT = 1000  # entries per stream per XREAD
BOOTSTRAP_TIMEOUT = 5.0  # seconds start-up waits for the bootstrap before starting without it
_SOURCE_TYPES: dict[str, type[GameState | OddsUpdate | PropLine]] = {
    "games": GameState, "odds": OddsUpdate, "props": PropLine,
}  # fmt: skip


def source_message(pub: Publication) -> GameState | OddsUpdate | PropLine | None:
    """The provider message a `games`/`odds`/`props` publication carries (else None)."""
    kind = _SOURCE_TYPES.get(pub.channel.split(":", 1)[0])
    if kind is None:
        return None
    return msgspec.convert(pub.data, kind)


class StreamReader:
    """Follows every channel stream into the hub (a child of the io supervisor)."""

    name = "stream-reader"

    def __init__(
        self,
        redis: Redis,
        hub: Hub,
        health: HealthRegistry,
        metrics: Metrics | None = None,
        *,
        history: int = 1000,
        on_publication: Callable[[Publication], None] | None = None,
    ) -> None:
        self.redis = redis
        self.hub = hub
        self.health = health
        self.history = history
        self.on_publication = on_publication
        self.last_ids: dict[str, bytes] = {}  # stream key -> last entry id read
        self._channels = {stream_key(name): name for name in hub.channels}
        self._stop = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        registry = None if metrics is None else metrics.registry
        self._read = Counter(
            "a1rt_cluster_entries_read", "Stream entries read into the hub", registry=registry
        )
        self._bad = Counter(
            "a1rt_cluster_entries_undecodable", "Stream entries that could not be decoded",
            registry=registry,
        )  # fmt: skip
        health.register("redis", needed_for_ready=False)

    def request_stop(self) -> None:
        self._stop.set()
        if self._scope is not None:
            self._scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bootstrap (bounded: Redis being away does not hold start-up), then follow."""
        self._stop = anyio.Event()
        self._scope = anyio.CancelScope()
        with anyio.move_on_after(BOOTSTRAP_TIMEOUT):
            await self._bootstrap_once()
        task_status.started()
        with self._scope:
            await self._follow()

    async def _follow(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                with anyio.fail_after(BLOCK_MS / 1000 + 5):
                    if len(self.last_ids) < len(self._channels):
                        await self.bootstrap()
                    await self.read_once(block=BLOCK_MS)
            except (RedisError, OSError, TimeoutError) as exc:
                self.health.report("redis", Status.DEGRADED, f"stream reader: {exc!r}"[:200])
                log.warning("redis stream read failed; retrying", error=repr(exc), delay=delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            self.health.report("redis", Status.OK, "streams followed")

    async def _bootstrap_once(self) -> None:
        try:
            await self.bootstrap()
            self.health.report("redis", Status.OK, "streams followed")
        except (RedisError, OSError) as exc:
            self.health.report("redis", Status.DEGRADED, f"bootstrap: {exc!r}"[:200])
            log.warning("redis stream bootstrap failed; retrying", error=repr(exc))

    async def bootstrap(self) -> None:
        """Load each channel not yet followed from its stream's newest entries; a channel
        whose stream shows nothing takes the cluster's epoch and seq, so every replica grants
        the same position before its first message too."""
        for key, channel in self._channels.items():
            if key in self.last_ids:
                continue
            epoch, seq = await cluster_position(self.redis, channel)
            entries: Any = await self.redis.xrevrange(key, "+", "-", count=self.history)
            if not entries:
                self.hub.adopt(channel, epoch, seq)
            for entry_id, fields in reversed(entries):
                self._accept(channel, entry_id, fields)
            self.last_ids.setdefault(key, b"0-0")

    async def read_once(self, block: int | None = None) -> int:
        """Read what the streams hold after the last entries seen; how many were read."""
        streams: Any = self.last_ids
        found: Any = await self.redis.xread(streams, count=READ_COUNT, block=block)
        read = 0
        for key, entries in found:
            channel = self._channels[key.decode()]
            for entry_id, fields in entries:
                self._accept(channel, entry_id, fields)
                read += 1
        return read

    def _accept(self, channel: str, entry_id: bytes, fields: dict[bytes, Any]) -> None:
        self.last_ids[stream_key(channel)] = entry_id
        try:
            pub = decode_entry(channel, fields)
        except (KeyError, ValueError, msgspec.DecodeError) as exc:
            self._bad.inc()
            log.error("undecodable stream entry", channel=channel, id=entry_id, error=str(exc))
            return
        self._read.inc()
        self.hub.accept(pub)
        if self.on_publication is not None:
            self.on_publication(pub)
