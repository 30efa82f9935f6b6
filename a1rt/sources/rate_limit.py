"""A token bucket that paces one source's requests, shared by every task that calls it."""

from __future__ import annotations

import math

from actors import Clock


class TokenBucket:
    """Holds up to `burst` tokens and refills `rate` tokens per second.

    `acquire` reserves a token at once (the balance may go negative) and then sleeps until that
    token has been refilled, so concurrent callers queue in call order without a lock and
    without waking one another; a caller cancelled while waiting gives its token back.
    """

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive finite number of requests/s, not {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock.now()

    def available(self) -> float:
        """Tokens in the bucket now (negative while callers wait for reserved ones)."""
        self._refill()
        return self._tokens

    def wait_time(self) -> float:
        """Seconds until a token would be free for a new caller (0 if one is free now)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate)

    def try_acquire(self) -> bool:
        """Take a token if one is free now; never waits."""
        self._refill()
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def acquire(self) -> float:
        """Take a token, sleeping until it is free; returns the seconds waited."""
        wait = self.wait_time()
        self._tokens -= 1.0
        if wait <= 0:
            return 0.0
        try:
            await self._clock.sleep(wait)
        except BaseException:
            self._tokens = min(float(self.burst), self._tokens + 1.0)  # cancelled: give it back
            raise
        return wait

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._updated = now
