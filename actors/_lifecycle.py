"""The states of an actor and the transitions between them."""

from __future__ import annotations

from enum import StrEnum

from ._exceptions import InvalidTransition


class ActorState(StrEnum):
    """Where an actor is in its life; a restart goes back to STARTING."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CRASHED = "crashed"


_ALLOWED: dict[ActorState, frozenset[ActorState]] = {
    ActorState.NEW: frozenset({ActorState.STARTING}),
    ActorState.STARTING: frozenset({ActorState.RUNNING, ActorState.CRASHED, ActorState.STOPPED}),
    ActorState.RUNNING: frozenset({ActorState.STOPPING, ActorState.CRASHED, ActorState.STOPPED}),
    ActorState.STOPPING: frozenset({ActorState.STOPPED, ActorState.CRASHED}),
    ActorState.STOPPED: frozenset({ActorState.STARTING}),
    ActorState.CRASHED: frozenset({ActorState.STARTING}),
}


def check_transition(current: ActorState, new: ActorState) -> ActorState:
    """Return `new` if an actor may move there from `current`, else raise InvalidTransition."""
    if new not in _ALLOWED[current]:
        raise InvalidTransition(f"actor cannot go from {current} to {new}")
    return new
