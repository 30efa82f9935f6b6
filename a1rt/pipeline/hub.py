"""The in-memory realtime hub of one replica: channels, their positions and history, and the
subscribers (one per websocket connection) they fan out to.

Channels: `games:{sport}`, `odds:{sport}`, `props:{sport}`, `predictions:{sport}` (state: the
latest value per key is kept for snapshots, and a slow reader gets it conflated) and
`opportunities`, `alerts` (events: a slow reader is closed with 4008).

Publishing never waits for a subscriber: `publish` stamps the next position and hands it to
`accept`, the one fan-out path, which records it and offers it to every subscriber's bounded
queue synchronously. A Redis stream reader (scale-out) calls `accept` with publications stamped
from the stream (its epoch, the stream ids as seq) instead of `publish`.

Subscribing is synchronous too, so nothing can be published between the snapshot (or the
replayed history) and the subscription going live: no message is lost or duplicated.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge

from ..logs import get_logger
from ..metrics import Metrics
from ..sources.provider import SPORTS
from .channel import Channel, Grant, Position, Publication, channel_names
from .subscriber import Snapshot, Subscriber, Update

log = get_logger(__name__)

GOING_AWAY = 4002  # close code: the hub is closing (this replica stops; reconnect elsewhere)
RESYNC = 4010  # close code: the channel's position jumped (reconnect and resume: a snapshot)


class UnknownChannel(KeyError):
    """Raised for a channel name the hub does not serve."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        super().__init__(", ".join(self.names))

    def __str__(self) -> str:
        return f"unknown channel {', '.join(map(repr, self.names))}"


class Hub:
    """Channels and their subscribers."""

    def __init__(
        self,
        sports: Iterable[str] = SPORTS,
        *,
        history: int = 1000,
        history_bytes: int = 2 << 20,
        max_keys: int = 20_000,
        metrics: Metrics | None = None,
    ) -> None:
        self.channels: dict[str, Channel] = {
            name: Channel(name, history=history, history_bytes=history_bytes, max_keys=max_keys)
            for name in channel_names(sports)
        }
        self._subscribers: dict[str, set[Subscriber]] = {name: set() for name in self.channels}
        self._all: set[Subscriber] = set()
        self.closed = False
        registry = None if metrics is None else metrics.registry
        self._published = Counter(
            "a1rt_hub_published", "Messages published per hub channel", ["channel"],
            registry=registry,
        )  # fmt: skip
        self._slow = Counter(
            "a1rt_hub_slow_closes", "Subscribers closed for falling behind (4008)", ["channel"],
            registry=registry,
        )  # fmt: skip
        self._conflations = Counter(
            "a1rt_hub_conflations", "Times a subscriber fell behind and got conflated state",
            ["channel"], registry=registry,
        )  # fmt: skip
        self._resyncs = Counter(
            "a1rt_hub_resyncs", "Times a channel's position jumped under its subscribers",
            ["channel"], registry=registry,
        )  # fmt: skip
        self._gauge = Gauge("a1rt_hub_subscribers", "Open hub subscribers", registry=registry)

    # --- publishing (synchronous: never waits for a subscriber) --------------------------

    def channel(self, name: str) -> Channel:
        """A channel by name; UnknownChannel if the hub does not serve it."""
        found = self.channels.get(name)
        if found is None:
            raise UnknownChannel([name])
        return found

    def publish(
        self, channel: str, data: Any, *, key: Hashable | None = None, ts: int | None = None
    ) -> Publication:
        """Stamp `data` with the channel's next position and fan it out. State channels need
        the `key` whose latest value it is; event channels ignore it."""
        pub = self.channel(channel).stamp(data, key, ts)
        self.accept(pub)
        return pub

    def accept(self, pub: Publication) -> None:
        """Record a stamped publication and offer it to every subscriber of its channel: the
        single fan-out path (local publishing and the Redis stream reader). One that does not
        follow the channel's position (a new epoch, or a gap this replica cannot fill) makes
        the channel's subscribers reconnect: their resume then gets a snapshot, so nobody
        silently skips messages."""
        channel = self.channel(pub.channel)
        if not channel.follows(pub):
            self._resync(pub.channel, f"{pub.channel} moved to {pub.epoch}:{pub.seq}")
        channel.record(pub)
        self._published.labels(pub.channel).inc()
        for sub in tuple(self._subscribers[pub.channel]):  # a slow one leaves as it closes
            was_conflating = sub.conflating(pub.channel)
            if not sub.offer(pub):
                self._slow.labels(pub.channel).inc()
                self.remove(sub)
            elif not was_conflating and sub.conflating(pub.channel):
                self._conflations.labels(pub.channel).inc()

    def fork(self, name: str) -> None:
        """Give channel `name` a new epoch of this replica's own (publishing locally while the
        cluster streams cannot be reached); its subscribers reconnect and get a snapshot."""
        self._resync(name, f"{name} continues locally")
        self.channel(name).restart()

    def adopt(self, name: str, epoch: str, seq: int) -> None:
        """Take the cluster's position for channel `name` when no message shows it (an empty
        or trimmed stream); its subscribers reconnect if that moves them."""
        channel = self.channel(name)
        if (channel.epoch, channel.seq) != (epoch, seq):
            self._resync(name, f"{name} is at {epoch}:{seq}")
            channel.restart(epoch, seq)

    def _resync(self, name: str, reason: str) -> None:
        subscribers = tuple(self._subscribers[name])
        if subscribers:
            self._resyncs.labels(name).inc()
            log.info("channel position jumped; subscribers resync", reason=reason,
                     subscribers=len(subscribers))  # fmt: skip
        for sub in subscribers:
            sub.close(RESYNC, f"insufficient state: {reason}; reconnect and resume")

    # --- subscribing ---------------------------------------------------------------------

    def subscriber(self, *, max_items: int = 2000, max_bytes: int = 4 << 20) -> Subscriber:
        """A new subscriber with its own bounded queue (closed subscribers leave the hub)."""
        sub = Subscriber(max_items=max_items, max_bytes=max_bytes, on_close=self.remove)
        if self.closed:
            sub.close(GOING_AWAY, "the server is shutting down")
            return sub
        self._all.add(sub)
        self._gauge.set(len(self._all))
        return sub

    def subscribe(
        self,
        sub: Subscriber,
        names: Iterable[str],
        resume: Mapping[str, Position] | None = None,
        *,
        header: Any = None,
    ) -> dict[str, Grant]:
        """Subscribe `sub` to `names` and queue what each one starts with: the missed updates
        when `resume` holds a position the history still covers in the same epoch (and the
        queue has room for them), else a snapshot (state channels). `header` (an ack, built
        from the grants when it is callable) is queued before any of it. A channel already
        subscribed starts over. UnknownChannel, with nothing subscribed, if any is unknown."""
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in self.channels]
        if unknown:
            raise UnknownChannel(unknown)
        if sub.closed is not None:
            raise sub.closed
        resume = resume or {}
        for name in names:
            sub.forget(name)
        free_items, free_bytes = sub.room()
        grants: dict[str, Grant] = {}
        backlogs: list[list[Snapshot | Update]] = []
        for name in names:
            channel = self.channels[name]
            missed = _missed(channel, resume.get(name))
            if missed is not None and (
                len(missed) <= free_items and sum(p.size for p in missed) <= free_bytes
            ):
                free_items -= len(missed)
                free_bytes -= sum(p.size for p in missed)
                grants[name] = Grant(channel.epoch, channel.seq, recovered=True)
                backlogs.append([Update(p) for p in missed])
                continue
            grants[name] = Grant(channel.epoch, channel.seq, recovered=False)
            snap = Snapshot(name, channel.epoch, channel.seq, channel.snapshot())
            backlogs.append([snap] if channel.state else [])
        if header is not None:
            sub.put_control(header(grants) if callable(header) else header)
        for name, backlog in zip(names, backlogs, strict=True):
            sub.put_backlog(backlog)
            sub.channels.add(name)
            self._subscribers[name].add(sub)
        return grants

    def unsubscribe(self, sub: Subscriber, names: Iterable[str]) -> list[str]:
        """Stop `names` for `sub` (dropping what is queued for them); the ones it had."""
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in self.channels]
        if unknown:
            raise UnknownChannel(unknown)
        had = [n for n in names if n in sub.channels]
        for name in had:
            self._subscribers[name].discard(sub)
            sub.channels.discard(name)
            sub.forget(name)
        return had

    def remove(self, sub: Subscriber) -> None:
        """Take `sub` out of every channel (its connection ended, or it was closed)."""
        for name in sub.channels:
            self._subscribers[name].discard(sub)
        self._all.discard(sub)
        self._gauge.set(len(self._all))

    def subscribers(self, channel: str | None = None) -> int:
        """How many subscribers the hub (or one channel) has."""
        if channel is None:
            return len(self._all)
        return len(self._subscribers[self.channel(channel).name])

    def close(self, code: int = GOING_AWAY, reason: str = "the server is shutting down") -> None:
        """Close every subscriber (and any made later); publishing still works."""
        self.closed = True
        for sub in list(self._all):
            sub.close(code, reason)


def _missed(channel: Channel, position: Position | None) -> list[Publication] | None:
    if position is None or position.epoch != channel.epoch:
        return None
    return channel.since(position.seq)
