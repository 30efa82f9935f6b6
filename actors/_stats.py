"""What an actor reports about itself, for metrics."""

from __future__ import annotations

from dataclasses import dataclass

from ._lifecycle import ActorState


@dataclass(frozen=True, slots=True)
class ActorStats:
    """A snapshot of one actor's counters."""

    name: str
    state: ActorState
    overflow: str
    capacity: int
    depth: int
    handled: int
    failed: int
    dropped: int
    refused: int  # offers turned away (full or closed) without waiting
    dead_letters: int
    restarts: int
    handler_seconds: float  # total time spent in the handler
