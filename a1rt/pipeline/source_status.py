"""What each source has delivered: its breaker, last success, last error, lag and quota.

The pollers write it, the feature cache reads it to fail over (a source whose breaker is open,
or whose newest data is older than `max_age`, yields to the next source that has the sport), and
`/api/v2/sources` and `/metrics` show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter, Gauge

from ..messages import SourceMessage, utcnow
from ..metrics import Metrics


@dataclass(slots=True)
class SourceStatus:
    """One source as the pollers last saw it."""

    name: str
    state: str = "closed"  # the breaker: closed, open, half_open
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    lag_seconds: float | None = None  # received_at - the provider's own stamp, newest poll
    quota_remaining: float | None = None
    polls: int = 0
    messages: int = 0
    newest: dict[str, float] = field(default_factory=dict)  # sport -> monotonic time of data

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "lag_seconds": self.lag_seconds,
            "quota_remaining": self.quota_remaining,
            "polls": self.polls,
            "messages": self.messages,
            "sports": sorted(self.newest),
        }


class SourceBoard:
    """Every configured source's status, in priority order (the order of A1RT_SOURCES)."""

    def __init__(
        self,
        names: tuple[str, ...],
        metrics: Metrics,
        *,
        max_age: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.order = names
        self.max_age = max_age
        self._clock = clock
        self._status = {name: SourceStatus(name) for name in names}
        self._lag = Gauge(
            "a1rt_source_lag_seconds", "Provider stamp to receipt, newest poll", ["source"],
            registry=metrics.registry,
        )  # fmt: skip
        self._polls = Counter(
            "a1rt_source_polls", "Polls by source, sport and result", ["source", "sport", "result"],
            registry=metrics.registry,
        )  # fmt: skip

    def get(self, name: str) -> SourceStatus:
        status = self._status.get(name)
        if status is None:
            status = self._status[name] = SourceStatus(name)
        return status

    def all(self) -> list[SourceStatus]:
        return [self._status[name] for name in self._status]

    def succeeded(
        self, name: str, sport: str, messages: list[SourceMessage], quota: float | None
    ) -> None:
        """A poll of `sport` answered: note it, its lag and its data's freshness."""
        status = self.get(name)
        now = utcnow()
        self._polls.labels(name, sport, "ok").inc()
        status.polls += 1
        status.messages += len(messages)
        status.last_success_at = now
        status.quota_remaining = quota
        if messages:
            status.newest[sport] = self._clock()
            lags = [
                (m.received_at - m.source_time).total_seconds()
                for m in messages
                if m.source_time is not None
            ]
            status.lag_seconds = max(0.0, max(lags)) if lags else 0.0
            self._lag.labels(name).set(status.lag_seconds)

    def failed(self, name: str, sport: str, error: str) -> None:
        status = self.get(name)
        self._polls.labels(name, sport, "error").inc()
        status.polls += 1
        status.last_error = f"{sport}: {error}"
        status.last_error_at = utcnow()

    def breaker(self, name: str, state: str) -> None:
        self.get(name).state = state

    def age(self, name: str, sport: str) -> float | None:
        """Seconds since `name` last delivered data for `sport`; None if it never has."""
        seen = self.get(name).newest.get(sport)
        return None if seen is None else self._clock() - seen

    def usable(self, name: str, sport: str) -> bool:
        """Whether `name` may be trusted for `sport` now: breaker not open, data fresh."""
        status = self.get(name)
        age = self.age(name, sport)
        return status.state != "open" and age is not None and age <= self.max_age
