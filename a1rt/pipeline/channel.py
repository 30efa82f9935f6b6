"""One hub channel: its epoch and sequence, a bounded history for resume, and (on state
channels) the latest value per key for snapshots.

A channel's `seq` rises by exactly one per message within an `epoch`; the epoch names one
incarnation of the channel (random per hub start, or the Redis stream's), so a position from
another incarnation is never trusted. History is a cache, not a source of truth: it is bounded
in messages and in bytes, and a resume it no longer covers gets a fresh snapshot instead.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Hashable, Iterable
from typing import Annotated, Any

import msgspec

STATE_KINDS = ("games", "odds", "props", "predictions")  # latest value per key; conflatable
EVENT_CHANNELS = ("opportunities", "alerts")  # every message matters; a slow reader is closed
FRAME_OVERHEAD = 96  # bytes an update frame adds around its data (op, ch, epoch, seq, ts)

_json = msgspec.json.Encoder()


def channel_names(sports: Iterable[str]) -> tuple[str, ...]:
    """Every channel of a hub serving `sports`."""
    sports = tuple(sports)
    return (*(f"{kind}:{sport}" for kind in STATE_KINDS for sport in sports), *EVENT_CHANNELS)


def new_epoch() -> str:
    """A fresh random epoch token."""
    return secrets.token_urlsafe(6)


def now_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch, the `ts` of frames."""
    return time.time_ns() // 1_000_000


class Position(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a client is in a channel: the last `seq` it saw in `epoch`."""

    epoch: str
    seq: Annotated[int, msgspec.Meta(ge=0)]


class Grant(msgspec.Struct, frozen=True):
    """A channel as subscribed: the position the data that follows starts from, and whether a
    resume was honoured (the missed updates are replayed) or not (a fresh snapshot follows)."""

    epoch: str
    seq: int
    recovered: bool


class Publication:
    """One message on one channel, stamped with its position. `raw` is the data encoded as JSON
    once (its length is what the message costs a subscriber's queue); `frames` caches each
    wire encoding of the plain update frame, shared by every subscriber."""

    __slots__ = ("channel", "epoch", "seq", "ts", "data", "key", "raw", "size", "frames")

    def __init__(
        self, channel: str, epoch: str, seq: int, ts: int, data: Any, key: Hashable | None
    ) -> None:
        self.channel = channel
        self.epoch = epoch
        self.seq = seq
        self.ts = ts
        self.data = data
        self.key = key  # None on event channels
        self.raw = _json.encode(data)
        self.size = len(self.raw) + FRAME_OVERHEAD
        self.frames: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"Publication({self.channel} {self.epoch}:{self.seq} key={self.key!r})"


class Channel:
    """A channel's position, history and (for state channels) latest value per key."""

    def __init__(
        self,
        name: str,
        *,
        history: int = 1000,
        history_bytes: int = 2 << 20,
        max_keys: int = 20_000,
        epoch: str | None = None,
    ) -> None:
        self.name = name
        self.state = name.split(":", 1)[0] in STATE_KINDS
        self.epoch = epoch or new_epoch()
        self.seq = 0  # the last published; 0 = nothing yet in this epoch
        self._history: deque[Publication] = deque()
        self._history_bytes = 0
        self._max_history = history
        self._max_history_bytes = history_bytes
        self._max_keys = max_keys
        self.latest: dict[Hashable, Publication] = {}

    def stamp(self, data: Any, key: Hashable | None, ts: int | None = None) -> Publication:
        """The next publication of this channel (local sequencing; not yet recorded)."""
        if self.state and key is None:
            raise ValueError(f"{self.name} is a state channel: a message needs a key")
        return Publication(
            self.name, self.epoch, self.seq + 1, now_ms() if ts is None else ts, data,
            key if self.state else None,
        )  # fmt: skip

    def record(self, pub: Publication) -> None:
        """Make `pub` the channel's newest message. A new epoch starts the channel over; a gap in
        `seq` (messages this replica never saw) empties the history, which can no longer prove
        that a resume is complete."""
        if pub.epoch != self.epoch:
            self.epoch = pub.epoch
            self._clear_history()
        elif pub.seq != self.seq + 1:
            self._clear_history()
        self.seq = pub.seq
        self._history.append(pub)
        self._history_bytes += pub.size
        while self._history and (
            len(self._history) > self._max_history or self._history_bytes > self._max_history_bytes
        ):
            self._history_bytes -= self._history.popleft().size
        if pub.key is not None:
            self.latest.pop(pub.key, None)  # re-inserted last: the dict stays oldest-first
            self.latest[pub.key] = pub
            if len(self.latest) > self._max_keys:
                del self.latest[next(iter(self.latest))]

    def follows(self, pub: Publication) -> bool:
        """Whether `pub` is this channel's next message (same epoch, the next seq)."""
        return pub.epoch == self.epoch and pub.seq == self.seq + 1

    def restart(self, epoch: str | None = None, seq: int = 0) -> None:
        """Begin at `epoch` (default: a new one) and `seq` (the latest state is kept; the
        history is not)."""
        self.epoch = epoch or new_epoch()
        self.seq = seq
        self._clear_history()

    def since(self, seq: int) -> list[Publication] | None:
        """Every message after `seq`, or None when the history no longer holds all of them."""
        if seq == self.seq:
            return []
        if seq > self.seq or not self._history or self._history[0].seq > seq + 1:
            return None
        return [pub for pub in self._history if pub.seq > seq]

    def snapshot(self) -> list[Publication]:
        """The latest message per key, oldest first (state channels; empty otherwise)."""
        return list(self.latest.values())

    def _clear_history(self) -> None:
        self._history.clear()
        self._history_bytes = 0
