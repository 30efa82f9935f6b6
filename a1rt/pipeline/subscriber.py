"""One hub subscriber: a bounded outbound queue, measured in messages and in bytes.

The hub offers every publication without waiting (`offer` is synchronous). When the queue is
full, a state channel's updates conflate: the channel's newer messages collect as the latest
value per key behind one marker in the queue, and when the reader reaches the marker they come
out oldest seq first, flagged `con` (seq jumps over the superseded ones). On an event channel a
full queue closes the subscriber with SLOW (4008): its reader must reconnect and resume.

A connection may set `direct`, a writer that takes a publication straight to its client (or
refuses it, when the client is backed up): while nothing is queued, `offer` tries it first, so a
subscriber that keeps up costs no hand-off at all; the queue takes over, in order, as soon as
anything waits in it.

Control items (acks, pongs, results, errors) share the queue, so an ack always precedes the
data it announces; they are admitted past the bound up to twice `max_bytes`, past which the
reader is closed as slow too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import anyio

from .channel import Publication

SLOW = 4008  # close code: the reader cannot keep up (reconnect and resume)


class SubscriberClosed(Exception):
    """Raised by `Subscriber.get` once the subscriber is closed; carries the close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class Control:
    """A frame of the connection's own (ack, pong, result, error), in order with the data."""

    __slots__ = ("payload", "size")

    def __init__(self, payload: Any, size: int = 256) -> None:
        self.payload = payload
        self.size = size


class Snapshot:
    """A state channel's latest value per key as of `seq`."""

    __slots__ = ("channel", "epoch", "seq", "items", "size")

    def __init__(self, channel: str, epoch: str, seq: int, items: list[Publication]) -> None:
        self.channel = channel
        self.epoch = epoch
        self.seq = seq
        self.items = items
        self.size = sum(p.size for p in items) + 128


class Update:
    """One publication for this subscriber; `con` when it comes out of conflation."""

    __slots__ = ("pub", "con")

    def __init__(self, pub: Publication, con: bool = False) -> None:
        self.pub = pub
        self.con = con

    @property
    def size(self) -> int:
        return self.pub.size


class _Conflated:
    """Queue marker: the channel's conflated updates go out when the reader gets here."""

    __slots__ = ("channel",)
    size = 0

    def __init__(self, channel: str) -> None:
        self.channel = channel


Item = Control | Snapshot | Update
_Queued = Control | Snapshot | Update | _Conflated


class Subscriber:
    """A reader of some hub channels, with its own bounded queue."""

    def __init__(
        self,
        *,
        max_items: int = 2000,
        max_bytes: int = 4 << 20,
        on_close: Callable[[Subscriber], None] | None = None,
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.channels: set[str] = set()
        self.conflated = 0  # updates superseded before this reader saw them
        self.closed: SubscriberClosed | None = None
        self._on_close = on_close
        self._queue: deque[_Queued] = deque()
        self._bytes = 0
        self._pending: dict[str, dict[Hashable, Publication]] = {}  # channel -> key -> latest
        self._flushing: deque[Update] = deque()
        self._wakeup: anyio.Event | None = None
        self._close_hooks: list[Callable[[SubscriberClosed], None]] = []
        self.direct: Callable[[Publication], bool] | None = None  # see the module docstring

    def __len__(self) -> int:
        return len(self._queue) + len(self._flushing) + sum(map(len, self._pending.values()))

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def conflating(self, channel: str) -> bool:
        """Whether `channel`'s updates are collecting as latest-per-key behind a marker."""
        return channel in self._pending

    def room(self) -> tuple[int, int]:
        """Free space in the queue: (messages, bytes)."""
        return self.max_items - len(self._queue), self.max_bytes - self._bytes

    # --- filled by the hub and the connection (never waits) ------------------------------

    def offer(self, pub: Publication) -> bool:
        """Queue a publication of a subscribed channel; False if that closed the subscriber."""
        if self.closed is not None:
            return False
        pending = self._pending.get(pub.channel)
        if pending is not None:  # the channel is conflating: latest per key wins
            if pending.pop(pub.key, None) is not None:
                self.conflated += 1
            pending[pub.key] = pub
            return True
        if self.direct is not None and not self._queue and not self._flushing and self.direct(pub):
            return True
        if len(self._queue) < self.max_items and self._bytes + pub.size <= self.max_bytes:
            self._push(Update(pub))
            return True
        if pub.key is None:
            self.close(SLOW, f"slow consumer: {pub.channel} overflowed the queue")
            return False
        self._pending[pub.channel] = {pub.key: pub}
        self._push(_Conflated(pub.channel))
        return True

    def put_control(self, payload: Any, size: int = 256) -> None:
        """Queue a frame of the connection's own, in order with the data."""
        if self.closed is not None:
            return
        if self._bytes + size > 2 * self.max_bytes:
            self.close(SLOW, "slow consumer: the connection's own frames overflowed the queue")
            return
        self._push(Control(payload, size))

    def put_backlog(self, items: Iterable[Snapshot | Update]) -> None:
        """Queue a snapshot or a replay regardless of the bound (the hub sized it already)."""
        if self.closed is not None:
            return
        for item in items:
            self._push(item)

    def forget(self, channel: str) -> None:
        """Drop everything queued for `channel` (it is being unsubscribed or resubscribed)."""
        self._pending.pop(channel, None)
        kept = [i for i in self._queue if isinstance(i, Control) or _channel(i) != channel]
        self._queue = deque(kept)
        self._bytes = sum(i.size for i in kept)
        self._flushing = deque(u for u in self._flushing if u.pub.channel != channel)

    def close(self, code: int, reason: str, *, drain: bool = False) -> None:
        """Stop the subscriber: no more data is queued and the channel data waiting is dropped.
        Its reader gets SubscriberClosed at once, or, with `drain`, after the control frames
        still waiting (the errors that explain a close the connection decided on)."""
        if self.closed is not None:
            return
        self.closed = SubscriberClosed(code, reason)
        kept = [i for i in self._queue if isinstance(i, Control)] if drain else []
        self._queue = deque(kept)
        self._bytes = sum(i.size for i in kept)
        self._pending.clear()
        self._flushing.clear()
        self._wake()
        if self._on_close is not None:
            self._on_close(self)
        if not drain:
            for hook in self._close_hooks:
                hook(self.closed)

    def on_close(self, hook: Callable[[SubscriberClosed], None]) -> None:
        """Call `hook` when the subscriber closes without draining (a connection aborting a
        send the client is not reading)."""
        self._close_hooks.append(hook)

    # --- drained by the connection -------------------------------------------------------

    def get_nowait(self) -> Item | None:
        """The next item, or None if nothing is waiting; SubscriberClosed once closed (and
        drained)."""
        if self.closed is not None:
            if not self._queue:
                raise self.closed
            item = self._queue.popleft()
            self._bytes -= item.size
            assert isinstance(item, Control)  # noqa: S101 - only control frames are kept
            return item
        if self._flushing:
            return self._flushing.popleft()
        while self._queue:
            item = self._queue.popleft()
            self._bytes -= item.size
            if not isinstance(item, _Conflated):
                return item
            pending = self._pending.pop(item.channel, {})
            self._flushing = deque(
                Update(p, con=True) for p in sorted(pending.values(), key=lambda p: p.seq)
            )
            if self._flushing:
                return self._flushing.popleft()
        return None

    async def get(self) -> Item:
        """The next item, waiting for one; SubscriberClosed once closed."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            self._wakeup = anyio.Event()
            await self._wakeup.wait()

    def _push(self, item: _Queued) -> None:
        self._queue.append(item)
        self._bytes += item.size
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None


def _channel(item: _Queued) -> str:
    if isinstance(item, Update):
        return item.pub.channel
    if isinstance(item, Snapshot | _Conflated):
        return item.channel
    return ""
