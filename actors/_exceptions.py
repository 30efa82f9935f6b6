"""Every exception the actor runtime raises.

ActorError
├── MailboxFull                 a mailbox had no room and its policy refused the message
├── MailboxClosed               the actor is stopping or stopped and takes no more messages
├── MessageDropped              an asked message was dropped by its mailbox's overflow policy
├── AskTimeout                  no reply within the ask timeout (also a TimeoutError)
├── HandlerFailed               the handler raised on an asked message twice; it is a dead letter
├── InvalidTransition           a lifecycle moved between two states it must not connect
└── SupervisorError
    ├── ChildStartFailed        a child failed before it said it was ready
    └── RestartIntensityExceeded more restarts than the supervisor's intensity allows
"""

from __future__ import annotations


class ActorError(Exception):
    """Root of every error the actor runtime raises."""


class MailboxFull(ActorError):
    """Raised when a message meets a full mailbox whose policy is `fail` (or a `*_nowait` call
    would have to wait)."""


class MailboxClosed(ActorError):
    """Raised when a message is sent to an actor that is stopping or stopped."""


class MessageDropped(ActorError):
    """Raised to an asker when the overflow policy dropped its message before it was handled."""


class AskTimeout(ActorError, TimeoutError):
    """Raised when an ask gets no reply within its timeout."""


class HandlerFailed(ActorError):
    """Raised to an asker when its message crashed the handler twice and became a dead letter."""


class InvalidTransition(ActorError):
    """Raised when a lifecycle is asked to move between two states that are not connected."""


class SupervisorError(ActorError):
    """Root of the errors a supervisor raises to its parent."""


class ChildStartFailed(SupervisorError):
    """Raised when a supervisor's child fails before it has signalled that it is ready."""

    def __init__(self, child: str, message: str) -> None:
        super().__init__(message)
        self.child = child


class RestartIntensityExceeded(SupervisorError):
    """Raised when a supervisor's children restart more often than its intensity allows."""
