"""The Odds API's credit quota, read from every response, and the polling pace it allows.

Pacing rule. With `remaining` credits left (less a `reserve` kept for manual fetches), `left`
seconds until the quota resets, and one poll costing `cost` credits (the mean `x-requests-last`
per request times the requests a poll makes), polling every

    interval = max(base, safety * cost * left / (remaining - reserve))

makes at most (remaining - reserve) / (safety * cost) polls before the reset: the quota cannot run
out first. While credits are plentiful the interval is `base`; as they fall it stretches smoothly;
with none left it is the time until the reset. Unknown figures leave `base` unchanged.
The quota resets monthly [providers.md §1]; no header says when, so the reset day is configured.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ..messages import utcnow

REMAINING = "x-requests-remaining"
USED = "x-requests-used"
LAST = "x-requests-last"


def next_reset(now: datetime, day: int = 1) -> datetime:
    """The next midnight UTC on day `day` of a month (clamped to the month's length)."""
    year, month = now.year, now.month
    for _ in range(2):
        candidate = _on_day(year, month, day)
        if candidate > now:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return _on_day(year, month, day)


def _on_day(year: int, month: int, day: int) -> datetime:
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, min(day, last), tzinfo=UTC)


def _figure(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


class QuotaTracker:
    """Remaining, used and last-call credits from the `x-requests-*` headers, and the pace."""

    def __init__(
        self,
        *,
        reset_day: int = 1,
        reserve: float = 10.0,
        safety: float = 1.2,
        smoothing: float = 0.2,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if not 1 <= reset_day <= 31:
            raise ValueError(f"reset_day must be a day of the month, not {reset_day}")
        self._reset_day = reset_day
        self._reserve = reserve
        self._safety = safety
        self._smoothing = smoothing
        self._now = now
        self.remaining: float | None = None
        self.used: float | None = None
        self.last: float | None = None
        self._mean_cost: float | None = None

    def update(self, headers: Mapping[str, str]) -> bool:
        """Read the quota headers of a fresh response; False when it carried none."""
        remaining, used, last = (_figure(headers, n) for n in (REMAINING, USED, LAST))
        if remaining is not None:
            self.remaining = remaining
        if used is not None:
            self.used = used
        if last is not None:
            self.last = last
            self._learn_cost(last)
        return remaining is not None or used is not None or last is not None

    def exhausted(self) -> None:
        """Record that the provider said the quota is spent (no headers may come with that)."""
        self.remaining = 0.0

    def mean_cost(self) -> float:
        """Credits one request costs on average (moving average; 1 before any is seen)."""
        return 1.0 if self._mean_cost is None else self._mean_cost

    def seconds_to_reset(self) -> float:
        """Seconds from now until the quota resets."""
        now = self._now()
        return (next_reset(now, self._reset_day) - now).total_seconds()

    def poll_interval(self, base: float, *, requests_per_poll: int = 1) -> float:
        """The interval between polls that keeps the quota alive until it resets (see module)."""
        if self.remaining is None:
            return base
        left = self.seconds_to_reset()
        budget = self.remaining - self._reserve
        if budget <= 0:
            return max(base, left)
        cost = self.mean_cost() * requests_per_poll
        return max(base, self._safety * cost * left / budget)

    def _learn_cost(self, cost: float) -> None:
        if self._mean_cost is None:
            self._mean_cost = cost
        else:
            self._mean_cost += self._smoothing * (cost - self._mean_cost)
