"""When to try a request again and how long to wait first.

Backoff is "full jitter": before retry n (0-based) wait uniform(0, min(cap, base * 2**n)), which
spreads clients that failed together instead of retrying them in lock-step. A `Retry-After` on a
429 or 503 replaces the backoff; one longer than `max_retry_after` ends the retries at once, so a
poller is never parked for minutes inside one call.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` tries per call, with full-jitter backoff between them."""

    attempts: int = 3
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {self.attempts}")
        if self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("base, cap and max_retry_after must not be negative")

    def ceiling(self, retry: int) -> float:
        """The longest backoff before retry number `retry` (0-based)."""
        return min(self.cap, self.base * 2.0 ** min(retry, 62))

    def backoff(self, retry: int, rng: random.Random) -> float:
        """A full-jitter wait before retry number `retry`: uniform(0, ceiling(retry))."""
        return rng.uniform(0.0, self.ceiling(retry))

    def delay(self, retry: int, rng: random.Random, retry_after: float | None) -> float | None:
        """The wait before retry `retry`, or None when the retries should stop here."""
        if retry + 1 >= self.attempts:
            return None
        if retry_after is None:
            return self.backoff(retry, rng)
        return retry_after if retry_after <= self.max_retry_after else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date (measured from
    `now`, best the response's own `Date`). None when absent or unreadable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(text: str, now: datetime) -> float | None:
    when = parse_http_date(text)
    return None if when is None else max(0.0, (when - now).total_seconds())


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (`Date`, `Retry-After`) as an aware datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
