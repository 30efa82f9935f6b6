"""Reconnect delays: exponential with jitter, reset once a connection has proved stable."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """`next()` is the delay before the next attempt: `min(cap, base * 2**n)` scaled by a random
    factor in [1 - jitter, 1], so a fleet of clients dropped together does not come back in
    step. `connected()` starts a stability clock; `next()` after a connection that lasted
    `stable` seconds starts the sequence over."""

    def __init__(
        self,
        base: float = 0.25,
        cap: float = 15.0,
        *,
        jitter: float = 0.5,
        stable: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.stable = stable
        self.attempts = 0
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._since: float | None = None

    def connected(self) -> None:
        """A connection is up (and subscribed): start timing its stability."""
        self._since = self._clock()

    def next(self) -> float:
        """The delay before the next attempt, in seconds."""
        if self._since is not None and self._clock() - self._since >= self.stable:
            self.attempts = 0
        self._since = None
        delay = min(self.cap, self.base * 2.0**self.attempts)
        self.attempts += 1
        return delay * (1.0 - self.jitter * self._rng.random())
