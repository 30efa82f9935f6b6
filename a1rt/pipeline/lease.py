"""The leader lease in Redis: one replica at a time holds it, and its fencing token proves it.

Acquiring is `SET key value NX PX ttl`, where the value is `{token}:{replica}` and the token
comes from `INCR` on a counter that only ever rises, so every tenure has a token larger than
every earlier one. Renewing and releasing are compare-and-act Lua scripts: they touch the key
only while it still holds this tenure's value, so a replica whose lease expired (and was taken
over) can neither extend nor delete its successor's. Writes that must come from the leader alone
check the same value inside their own script (the fenced stream append), so a deposed leader
that has not noticed yet is refused by Redis itself.

Every key of the cluster shares the `{a1rt}` hash tag, so the scripts stay single-slot (Redis
Cluster safe).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

PREFIX = "{a1rt}:"
MARGIN = 0.9  # of the TTL: a holder counts its lease as lost this early (clock drift, latency)
LEASE_KEY = PREFIX + "leader"
FENCE_KEY = PREFIX + "leader:fence"

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """This replica's claim on the leader lease (acquire, renew, release); `value` is what
    fenced writes compare against while `token` is set."""

    def __init__(
        self, redis: Redis, replica: str, *, ttl: float = 5.0, key: str = LEASE_KEY
    ) -> None:
        self.redis = redis
        self.replica = replica
        self.ttl = ttl
        self.key = key
        self.token: int | None = None  # the fencing token of the tenure held, if any
        self.value: str | None = None
        # Monotonic, and conservative: from before each request, and MARGIN of the TTL.
        self.expires_at = 0.0
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    def held(self) -> bool:
        """Whether this replica holds the lease as far as it can tell locally."""
        return self.token is not None and time.monotonic() < self.expires_at

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this replica now holds it."""
        sent = time.monotonic()
        if await self.redis.exists(self.key):  # held: spare the counter (SET NX decides anyway)
            return False
        token = int(await self.redis.incr(FENCE_KEY))
        value = f"{token}:{self.replica}"
        if not await self.redis.set(self.key, value, nx=True, px=self.ttl_ms):
            return False
        self.token, self.value, self.expires_at = token, value, sent + self.ttl * MARGIN
        return True

    async def renew(self) -> bool:
        """Extend the tenure held; False (and the tenure forgotten) if it was lost."""
        if self.value is None:
            return False
        sent = time.monotonic()
        if await self._renew(keys=[self.key], args=[self.value, self.ttl_ms]):
            self.expires_at = sent + self.ttl * MARGIN
            return True
        self.forget()
        return False

    async def release(self) -> bool:
        """Give the lease up (only if still ours), so a successor need not wait for expiry."""
        value, self.token, self.value = self.value, None, None
        self.expires_at = 0.0
        if value is None:
            return False
        return bool(await self._release(keys=[self.key], args=[value]))

    def forget(self) -> None:
        """Drop the tenure locally (lost, or expired while Redis could not be reached)."""
        self.token = self.value = None
        self.expires_at = 0.0

    async def holder(self) -> str | None:
        """Who holds the lease now (`token:replica`), or None."""
        raw = await self.redis.get(self.key)
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)
