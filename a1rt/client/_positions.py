"""The last position delivered per channel, and the rules that keep deliveries gap-free and
duplicate-free across resubscriptions and reconnects.

Per channel the state is a small machine:

    PENDING --ack(recovered)--------------------------> LIVE (position kept: replay follows)
    PENDING --ack(not recovered)----------------------> LIVE (position := grant; Reset if the
                                                              caller held a position)
    LIVE    --update seq+1 (or a later seq with con)--> LIVE (delivered)
    LIVE    --update seq <= position------------------> LIVE (duplicate: dropped)
    LIVE    --update jumping ahead, or another epoch--> Gap: the stream resubscribes from the
                                                         position, the channel is PENDING again

While a channel is PENDING everything for it is dropped: frames already on the wire belong to
the subscription being replaced, and the ack that ends PENDING is queued by the server before
the new subscription's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._events import Gap, Position, Reset, Snapshot, Update
from ._frames import Ack, RequestId, SnapshotFrame, UpdateFrame


class _Channel:
    __slots__ = ("position", "awaiting")

    def __init__(self, position: Position | None) -> None:
        self.position = position
        self.awaiting: RequestId = None  # the subscribe whose ack makes the channel live


class Positions:
    """Every subscribed channel's last delivered (epoch, seq) and subscription state."""

    def __init__(self, channels: Iterable[str], resume: Mapping[str, Position] | None) -> None:
        resume = resume or {}
        self._channels = {name: _Channel(resume.get(name)) for name in channels}
        self.duplicates = 0  # updates at or before the position: dropped
        self.stale = 0  # frames of a subscription being replaced: dropped

    @property
    def names(self) -> list[str]:
        """Every channel, in the order subscribed."""
        return list(self._channels)

    def current(self) -> dict[str, Position]:
        """{channel: (epoch, seq)} of the last message delivered, for channels that have one."""
        return {n: c.position for n, c in self._channels.items() if c.position is not None}

    def expect(self, names: Iterable[str], request: RequestId) -> dict[str, dict[str, object]]:
        """Mark `names` as waiting for the ack of subscribe `request`; the `resume` member that
        subscribe carries."""
        resume: dict[str, dict[str, object]] = {}
        for name in names:
            channel = self._channels[name]
            channel.awaiting = request
            if channel.position is not None:
                epoch, seq = channel.position
                resume[name] = {"epoch": epoch, "seq": seq}
        return resume

    def on_ack(self, ack: Ack) -> list[Reset]:
        """Make the acked channels live; a Reset for each one that could not be resumed."""
        resets: list[Reset] = []
        for name, grant in ack.channels.items():
            channel = self._channels.get(name)
            if channel is None or channel.awaiting is None or channel.awaiting != ack.id:
                continue
            channel.awaiting = None
            held = channel.position
            if grant.recovered and held is not None and held[0] == grant.epoch:
                continue  # the missed updates follow, from held seq + 1
            channel.position = (grant.epoch, grant.seq)
            if held is not None:
                reason = f"the server could not resume from {held[0]}:{held[1]}"
                resets.append(Reset(name, grant.epoch, grant.seq, reason))
        return resets

    def on_snapshot(self, frame: SnapshotFrame) -> Snapshot | None:
        """The snapshot to deliver, or None if it belongs to a subscription being replaced."""
        channel = self._live(frame.ch)
        if channel is None:
            return None
        channel.position = (frame.epoch, frame.seq)
        return Snapshot(frame.ch, frame.epoch, frame.seq, frame.data)

    def on_update(self, frame: UpdateFrame) -> Update | Gap | None:
        """The update to deliver, a Gap to repair, or None (a duplicate or a stale frame)."""
        channel = self._live(frame.ch)
        if channel is None:
            return None
        held = channel.position
        if held is None:  # live without a position: only after an odd ack; start here
            channel.position = (frame.epoch, frame.seq)
            return _update(frame)
        epoch, seq = held
        if frame.epoch == epoch and frame.seq <= seq:
            self.duplicates += 1
            return None
        if frame.epoch == epoch and (frame.seq == seq + 1 or frame.con):
            channel.position = (frame.epoch, frame.seq)
            return _update(frame)
        return Gap(frame.ch, held, (frame.epoch, frame.seq))

    def _live(self, name: str) -> _Channel | None:
        channel = self._channels.get(name)
        if channel is None or channel.awaiting is not None:
            self.stale += 1
            return None
        return channel


def _update(frame: UpdateFrame) -> Update:
    return Update(frame.ch, frame.epoch, frame.seq, frame.ts, frame.data, frame.con)


def checked_resume(resume: Mapping[str, Position] | None, names: list[str]) -> dict[str, Position]:
    """`resume` as given by a caller, checked: ValueError naming the bad channel."""
    checked: dict[str, Position] = {}
    for name, position in (resume or {}).items():
        if name not in names:
            raise ValueError(f"resume.{name}: not one of the channels")
        epoch, seq = position
        if not isinstance(epoch, str) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"resume.{name}: expected (epoch: str, seq: int >= 0)")
        checked[name] = (epoch, seq)
    return checked
