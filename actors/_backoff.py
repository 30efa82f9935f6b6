"""Restart pacing: exponential backoff with jitter, and the restart-intensity window."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before the n-th consecutive restart of a child: a random point in
    [(1 - jitter) * d, d] where d = min(cap, base * 2**n).  A child that ran for at least
    `stable_after` seconds before it stopped starts again from n = 0."""

    base: float = 0.05
    cap: float = 5.0
    jitter: float = 0.5
    stable_after: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before restart number `attempt` (0-based) of a run of failures."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 62))
        return ceiling * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class Intensity:
    """At most `max_restarts` restarts within any `period` seconds."""

    max_restarts: int = 5
    period: float = 10.0


class RestartWindow:
    """The sliding window that tells when a supervisor has restarted too often."""

    def __init__(self, intensity: Intensity) -> None:
        self._intensity = intensity
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Count a restart at `now`; False when that is one too many for the intensity."""
        self._times.append(now)
        while self._times and self._times[0] <= now - self._intensity.period:
            self._times.popleft()
        return len(self._times) <= self._intensity.max_restarts
