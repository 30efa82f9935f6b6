"""A circuit breaker: after repeated failures stop calling a provider, then probe it.

    CLOSED ──(failure_threshold consecutive failures)──▶ OPEN
    OPEN ──(open_for seconds pass, checked on the next call)──▶ HALF_OPEN
    HALF_OPEN ──(half_open_trials successes)──▶ CLOSED
    HALF_OPEN ──(any failure)──▶ OPEN (the open time starts again)

Every call that `allow()` admits must end in exactly one of `record_success()`,
`record_failure()` or `release()` (the call was abandoned, e.g. cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from actors import Clock, InvalidTransition


class BreakerState(StrEnum):
    """Where a breaker is: CLOSED lets calls through, OPEN refuses them, HALF_OPEN lets a few
    trial calls through to see whether the provider has recovered."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


_ALLOWED: dict[BreakerState, frozenset[BreakerState]] = {
    BreakerState.CLOSED: frozenset({BreakerState.OPEN}),
    BreakerState.OPEN: frozenset({BreakerState.HALF_OPEN}),
    BreakerState.HALF_OPEN: frozenset({BreakerState.CLOSED, BreakerState.OPEN}),
}

# The numeric value exported in the breaker-state gauge.
STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """How many failures open the breaker, how long it stays open, how many trials close it."""

    failure_threshold: int = 5
    open_for: float = 30.0
    half_open_trials: int = 1

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_trials < 1:
            raise ValueError("failure_threshold and half_open_trials must be at least 1")
        if self.open_for < 0:
            raise ValueError(f"open_for must not be negative, not {self.open_for}")


class CircuitBreaker:
    """One source's breaker; time comes from `clock`, transitions are reported to `on_change`."""

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Clock,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive, while CLOSED
        self._opened_at = 0.0
        self._trials = 0  # admitted trial calls not yet finished, while HALF_OPEN
        self._successes = 0  # successful trial calls, while HALF_OPEN

    @property
    def state(self) -> BreakerState:
        """The current state, moving OPEN to HALF_OPEN first if the open time has passed."""
        if self._state is BreakerState.OPEN and self.retry_in() <= 0:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 unless OPEN)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.policy.open_for - self._clock.now())

    def allow(self) -> bool:
        """Admit a call (True) or refuse it (False) without any I/O."""
        match self.state:
            case BreakerState.CLOSED:
                return True
            case BreakerState.OPEN:
                return False
            case BreakerState.HALF_OPEN:
                if self._trials + self._successes >= self.policy.half_open_trials:
                    return False
                self._trials += 1
                return True

    def record_success(self) -> None:
        """An admitted call reached a provider that answered properly."""
        if self._state is BreakerState.CLOSED:
            self._failures = 0
        elif self._state is BreakerState.HALF_OPEN:
            self._finish_trial()
            self._successes += 1
            if self._successes >= self.policy.half_open_trials:
                self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """An admitted call failed in a way that counts against the provider."""
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.policy.failure_threshold:
                self._move(BreakerState.OPEN)
        elif self._state is BreakerState.HALF_OPEN:
            self._finish_trial()
            self._move(BreakerState.OPEN)
        # OPEN: a call admitted before the breaker opened; nothing more to learn from it.

    def release(self) -> None:
        """An admitted call ended without an answer either way (e.g. it was cancelled)."""
        if self._state is BreakerState.HALF_OPEN:
            self._finish_trial()

    def _finish_trial(self) -> None:
        self._trials = max(0, self._trials - 1)

    def _move(self, new: BreakerState) -> None:
        old = self._state
        if new not in _ALLOWED[old]:
            raise InvalidTransition(f"breaker cannot go from {old} to {new}")
        self._state = new
        self._failures = 0
        self._trials = self._successes = 0
        if new is BreakerState.OPEN:
            self._opened_at = self._clock.now()
        if self._on_change is not None:
            self._on_change(old, new)
