"""The publisher actor: what the pipeline produces, routed to its hub channel.

- GameState → `games:{sport}`, latest per event;
- OddsUpdate → `odds:{sport}`, latest per event, book and market;
- PropLine → `props:{sport}`, latest per event, player, stat and book (or source);
- Prediction (with an event id) → `predictions:{sport}`, latest per event, model and subject;
  the sport is the model name's prefix (`basketball_nba_h2h` → `basketball_nba`);
- OpportunityRecord, or a dict with an `opportunity_id` → `opportunities`;
- AlertRecord, or a dict with an `alert_id` → `alerts`;
- Publish(channel, data, key) → as given.

Its mailbox conflates state messages (the latest per key wins while they wait) and keeps every
event message; senders use `offer`, which never waits: a full mailbox counts the refusal.
Anything it cannot route is counted and dropped.

Single node, it publishes to the hub directly. In a cluster (a `Fanout`), the leader's publisher
appends each batch to the channel streams instead, and the hub hears it back from the stream
reader, like every other replica's; a follower's publisher publishes nothing (counted). While
Redis cannot be reached the leader publishes to its own hub in a local epoch per channel, so its
own clients keep their data (and resync when the streams come back).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import anyio
import msgspec
from prometheus_client import Counter
from redis.exceptions import RedisError

from actors import Actor, Overflow

from ..logs import get_logger
from ..messages import GameState, OddsUpdate, Prediction, PropLine
from ..metrics import Metrics
from ..sources.provider import SPORTS
from ..store import AlertRecord, OpportunityRecord
from .fanout import Fanout, NotLeader
from .hub import Hub, UnknownChannel

log = get_logger(__name__)


class Publish(msgspec.Struct, frozen=True, kw_only=True):
    """An explicit publication: `data` on `channel` (state channels need the `key`)."""

    channel: str
    data: Any
    key: tuple[str, ...] | None = None


Publishable = (
    GameState | OddsUpdate | PropLine | Prediction | OpportunityRecord | AlertRecord | Publish
    | dict[str, Any]
)  # fmt: skip
Route = tuple[str, Hashable | None, Any]
APPEND_TIMEOUT = 2.0  # seconds a stream append may take before Redis counts as unreachable


def sport_of_model(model: str, sports: Iterable[str] = SPORTS) -> str | None:
    """The sport a model name starts with (`basketball_nba_h2h` → `basketball_nba`)."""
    found = [s for s in sports if model.startswith(f"{s}_")]
    return max(found, key=len) if found else None


def route(message: object, sports: Iterable[str] = SPORTS) -> Route | None:
    """The channel, key and data of a message, or None if it has no channel."""
    if isinstance(message, GameState):
        return f"games:{message.sport}", message.event_id, msgspec.to_builtins(message)
    key: Hashable
    if isinstance(message, OddsUpdate):
        key = (message.event_id, message.book, message.market)
        return f"odds:{message.sport}", key, msgspec.to_builtins(message)
    if isinstance(message, PropLine):
        key = (message.event_id, message.player, message.stat, message.book or message.source)
        return f"props:{message.sport}", key, msgspec.to_builtins(message)
    if isinstance(message, Prediction):
        sport = sport_of_model(message.model, sports)
        if sport is None or message.event_id is None:
            return None
        key = (message.event_id, message.model, message.subject)
        return f"predictions:{sport}", key, msgspec.to_builtins(message)
    if isinstance(message, OpportunityRecord):
        return "opportunities", None, msgspec.to_builtins(message)
    if isinstance(message, AlertRecord):
        return "alerts", None, msgspec.to_builtins(message)
    if isinstance(message, Publish):
        return message.channel, message.key, msgspec.to_builtins(message.data)
    if isinstance(message, dict):
        if "opportunity_id" in message:
            return "opportunities", None, msgspec.to_builtins(message)
        if "alert_id" in message:
            return "alerts", None, msgspec.to_builtins(message)
    return None


def _mailbox_key(message: object) -> Hashable:
    """State messages conflate by what their channel keys on; events never do."""
    if isinstance(message, GameState):
        return ("games", message.sport, message.event_id)
    if isinstance(message, OddsUpdate):
        return ("odds", message.sport, message.event_id, message.book, message.market)
    if isinstance(message, PropLine):
        return ("props", message.sport, message.event_id, message.player, message.stat,
                message.book or message.source)  # fmt: skip
    if isinstance(message, Prediction):
        return ("predictions", message.event_id, message.model, message.subject)
    if isinstance(message, Publish) and message.key is not None:
        return ("publish", message.channel, message.key)
    return ("event", id(message))  # unique while it waits in the mailbox


class Publisher(Actor[object, None]):
    """Routes the pipeline's output (any Publishable; anything else is counted as unroutable)
    to the hub; lives in the io branch."""

    def __init__(
        self,
        hub: Hub,
        metrics: Metrics | None = None,
        *,
        sports: Iterable[str] = SPORTS,
        capacity: int = 20_000,
        fanout: Fanout | None = None,
    ) -> None:
        super().__init__(
            "publisher", capacity=capacity, overflow=Overflow.CONFLATE, key=_mailbox_key,
            batch=256,
        )  # fmt: skip
        self.hub = hub
        self.fanout = fanout
        self.sports = tuple(sports)
        self._forked: set[str] = set()  # channels published locally while Redis is away
        self.unroutable = 0
        registry = None if metrics is None else metrics.registry
        self._unroutable = Counter(
            "a1rt_publisher_unroutable", "Messages the publisher had no channel for", ["kind"],
            registry=registry,
        )  # fmt: skip
        self._skipped = Counter(
            "a1rt_publisher_not_leader", "Messages a follower did not publish (the leader does)",
            registry=registry,
        )  # fmt: skip
        self._local = Counter(
            "a1rt_publisher_local", "Messages the leader published locally: Redis unreachable",
            registry=registry,
        )  # fmt: skip

    async def handle_batch(self, messages: list[object]) -> list[None]:
        if self.fanout is None:
            for message in messages:
                self.publish_now(message)
        elif not self.fanout.lease.held():  # a follower: the leader publishes, nothing to route
            self._skipped.inc(len(messages))
        else:
            routes = [found for m in messages if (found := self._route(m)) is not None]
            if routes:
                await self._append(self.fanout, routes)
        return [None] * len(messages)

    def publish_now(self, message: object) -> bool:
        """Route and publish one message to the hub at once; False (counted) if it has no
        channel."""
        found = self._route(message)
        if found is None:
            return False
        channel, key, data = found
        self.hub.publish(channel, data, key=key)
        return True

    def _route(self, message: object) -> Route | None:
        """The message's channel, key and data, checked against the hub (None: counted)."""
        found = route(message, self.sports)
        if found is None:
            self._unrouted(message)
            return None
        channel, key, _ = found
        try:
            if self.hub.channel(channel).state and key is None:
                raise ValueError(f"{channel} is a state channel: a message needs a key")
        except (UnknownChannel, ValueError) as exc:
            self._unrouted(message)
            log.debug("unpublishable message", channel=channel, error=str(exc))
            return None
        return found

    async def _append(self, fanout: Fanout, routes: list[Route]) -> None:
        try:
            with anyio.fail_after(APPEND_TIMEOUT):
                await fanout.append(routes)
        except NotLeader:
            self._skipped.inc(len(routes))
            return
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("stream append failed; publishing locally", error=repr(exc))
            self._publish_locally(routes)
            return
        self._forked.clear()  # the streams are back: the reader resyncs the hub's channels

    def _publish_locally(self, routes: list[Route]) -> None:
        self._local.inc(len(routes))
        for channel, key, data in routes:
            if channel not in self._forked:
                self._forked.add(channel)
                self.hub.fork(channel)
            self.hub.publish(channel, data, key=key)

    def _unrouted(self, message: object) -> None:
        self.unroutable += 1
        self._unroutable.labels(type(message).__name__).inc()
