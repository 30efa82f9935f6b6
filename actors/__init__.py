"""A small supervised-actor runtime on anyio. It knows nothing about the application."""

from ._actor import Actor
from ._backoff import Backoff, Intensity, RestartWindow
from ._clock import Clock, ManualClock, MonotonicClock
from ._dead_letters import DeadLetter, DeadLetters
from ._exceptions import (
    ActorError,
    AskTimeout,
    ChildStartFailed,
    HandlerFailed,
    InvalidTransition,
    MailboxClosed,
    MailboxFull,
    MessageDropped,
    RestartIntensityExceeded,
    SupervisorError,
)
from ._lifecycle import ActorState
from ._mailbox import Mailbox, Overflow
from ._stats import ActorStats
from ._supervisor import Child, ChildSpec, Restart, Strategy, Supervisor

__all__ = [
    "Actor",
    "ActorError",
    "ActorState",
    "ActorStats",
    "AskTimeout",
    "Backoff",
    "Child",
    "ChildSpec",
    "ChildStartFailed",
    "Clock",
    "DeadLetter",
    "DeadLetters",
    "HandlerFailed",
    "Intensity",
    "InvalidTransition",
    "Mailbox",
    "MailboxClosed",
    "MailboxFull",
    "ManualClock",
    "MessageDropped",
    "MonotonicClock",
    "Overflow",
    "Restart",
    "RestartIntensityExceeded",
    "RestartWindow",
    "Strategy",
    "Supervisor",
    "SupervisorError",
]
