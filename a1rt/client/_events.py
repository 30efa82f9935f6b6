"""What a stream yields: channel data (`Snapshot`, `Update`) and notices about its continuity
(`Gap`, `Reset`). Dispatch with `match`:

    match event:
        case Snapshot(channel=ch, data=items): replace everything held for ch
        case Update(channel=ch, data=item): apply one message (latest value per key)
        case Gap(): messages were missed; the client is already fetching them again
        case Reset(): they could not be fetched: state was replaced (a Snapshot follows on
                      state channels) and, on event channels, messages were lost
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["Event", "Gap", "Position", "Reset", "Snapshot", "Update"]

Position = tuple[str, int]
"""Where a channel is: (epoch, seq) of the last message delivered."""


class Snapshot(msgspec.Struct, frozen=True, tag=True):
    """A state channel's latest value per key (oldest first) as of `seq`: replaces whatever
    the caller held for `channel`."""

    channel: str
    epoch: str
    seq: int
    data: list[Any]


class Update(msgspec.Struct, frozen=True, tag=True):
    """One message of `channel`. `seq` rises by one per message within an epoch; `con` marks
    conflated state (the server merged updates for a slow reader: `seq` may skip the ones
    superseded by a later value of the same key)."""

    channel: str
    epoch: str
    seq: int
    ts: int
    data: Any
    con: bool = False


class Gap(msgspec.Struct, frozen=True, tag=True):
    """Messages of `channel` were missed: the last delivered was `after`, the next one seen was
    `seen`. The client resubscribes from `after`; the missed updates follow when the server
    still has them, else a `Reset`."""

    channel: str
    after: Position
    seen: Position


class Reset(msgspec.Struct, frozen=True, tag=True):
    """The server could not resume `channel` from where the client was: it starts over at
    (`epoch`, `seq`). On a state channel a `Snapshot` follows and replaces the state; on an
    event channel the messages in between are lost."""

    channel: str
    epoch: str
    seq: int
    reason: str


Event = Snapshot | Update | Gap | Reset
