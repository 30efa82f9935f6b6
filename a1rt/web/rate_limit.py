"""Per-key token buckets: `rate` requests per second sustained, `burst` at once.

With Redis (A1RT_REDIS_URL) every replica draws on one bucket per key: a Lua script refills and
spends it atomically on Redis's own clock, under `prefix` + key id, with a TTL of the time the
bucket takes to refill (an idle key costs nothing). Without Redis the buckets are this
process's own.

Redis failing never fails a request: the request goes ahead (fails open), the failure is
counted in `a1rt_rate_limit_fail_open_total`, and Redis is left alone for a second, so an
outage costs one timeout per second rather than one per request.
"""

from __future__ import annotations

import math
import time

import anyio
from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from ..logs import get_logger
from .stream_protocol import TokenBucket

log = get_logger(__name__)

# KEYS[1] the bucket; ARGV rate (tokens/s), burst. Returns {1, 0} when a token was spent,
# else {0, milliseconds until one will be there}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local taken, wait = 0, 0
if tokens >= 1 then
  tokens, taken = tokens - 1, 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {taken, wait}
"""
_REDIS_TIMEOUT = 0.25  # seconds one bucket operation may take before it fails open
_REDIS_BACKOFF = 1.0  # seconds Redis is left alone after it failed


class KeyRateLimiter:
    """One token bucket per API key id, in Redis when given one, else in memory."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        redis: Redis | None = None,
        prefix: str = "a1rt:ratelimit:",
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._redis = redis
        self._script = None if redis is None else redis.register_script(_TAKE)
        self._local: dict[str, TokenBucket] = {}
        self._redis_idle_until = 0.0
        self.limited = Counter("a1rt_rate_limited", "Requests refused by a key's rate limit",
                               registry=registry)  # fmt: skip
        self.fail_open = Counter(
            "a1rt_rate_limit_fail_open",
            "Requests let through unmetered because Redis failed or was being left alone",
            registry=registry,
        )

    async def take(self, key_id: str) -> float | None:
        """Spend one of `key_id`'s tokens: None if there was one, else the seconds until
        there will be."""
        script = self._script
        wait = (
            self._take_local(key_id) if script is None else await self._take_redis(script, key_id)
        )
        if wait is not None:
            self.limited.inc()
        return wait

    def _take_local(self, key_id: str) -> float | None:
        bucket = self._local.get(key_id)
        if bucket is None:
            bucket = self._local[key_id] = TokenBucket(self.rate, self.burst)
        return None if bucket.take() else bucket.wait()

    async def _take_redis(self, script: AsyncScript, key_id: str) -> float | None:
        if time.monotonic() < self._redis_idle_until:
            self.fail_open.inc()
            return None
        try:
            with anyio.fail_after(_REDIS_TIMEOUT):
                taken, wait_ms = await script(
                    keys=[self.prefix + key_id], args=[repr(float(self.rate)), self.burst]
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self.fail_open.inc()
            self._redis_idle_until = time.monotonic() + _REDIS_BACKOFF
            log.warning("rate limit: Redis failed; letting requests through",
                        error=repr(exc), for_seconds=_REDIS_BACKOFF)  # fmt: skip
            return None
        return None if int(taken) else int(wait_ms) / 1000


def retry_after(wait: float) -> str:
    """A `Retry-After` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait)))
