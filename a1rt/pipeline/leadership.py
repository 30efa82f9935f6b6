"""The leadership service: contends for the leader lease and, while it holds it, runs the
sources subtree (the pollers), so exactly one replica of a cluster polls the providers.

States (checked transitions): FOLLOWING → LEADING (the lease was acquired; the pollers start)
→ FOLLOWING (the lease was lost, or expired while Redis could not be reached; the pollers stop)
… → STOPPED (asked to stop: the pollers stop first, then the lease is released so a successor
need not wait for it to expire). A follower tries to acquire every ttl/3, as the leader renews.

Redis trouble never crashes the service: a failed call is logged, the health component says
degraded, and it is retried on the next tick. A leader that cannot renew stops leading when its
lease would expire as it counts it (from before the last successful request, and a margin
early), since soon after that another replica may hold it; a renewal never waits past that.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

import anyio
from anyio.abc import TaskStatus
from redis.exceptions import RedisError

from actors import Supervisor

from ..health import HealthRegistry, Status
from ..logs import get_logger
from .lease import Lease

log = get_logger(__name__)

REDIS_TIMEOUT = 2.0  # seconds a lease request may take before it counts as a Redis failure


class Role(StrEnum):
    """Where this replica stands in the cluster."""

    FOLLOWING = "following"
    LEADING = "leading"
    STOPPED = "stopped"


_ALLOWED = {
    Role.FOLLOWING: {Role.LEADING, Role.STOPPED},
    Role.LEADING: {Role.FOLLOWING, Role.STOPPED},
    Role.STOPPED: {Role.FOLLOWING},  # a restart by the supervisor
}


class Leadership:
    """Holds the lease and runs `sources` while it does (a child of the root supervisor)."""

    name = "leadership"

    def __init__(self, lease: Lease, sources: Supervisor, health: HealthRegistry) -> None:
        self.lease = lease
        self.sources = sources
        self.health = health
        self.role = Role.STOPPED
        self.tenures = 0  # how many times this replica became leader
        self._stop = anyio.Event()
        health.register("leadership", needed_for_ready=False)

    @property
    def leading(self) -> bool:
        """Whether this replica may act as the leader now (persist, alert, append)."""
        return self.role is Role.LEADING and self.lease.held()

    @property
    def interval(self) -> float:
        return self.lease.ttl / 3

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Contend for the lease until stopped; lead whenever it is held."""
        self._stop = anyio.Event()
        self._become(Role.FOLLOWING)
        task_status.started()
        try:
            while not self._stop.is_set():
                if await self._call(self.lease.acquire):
                    await self._lead()
                else:
                    await self._wait(self.interval)
        finally:
            with anyio.CancelScope(shield=True):
                await self._release()
                self._become(Role.STOPPED)

    async def _lead(self) -> None:
        self.tenures += 1
        self._become(Role.LEADING)
        log.info("leader lease acquired", token=self.lease.token, replica=self.lease.replica)
        async with anyio.create_task_group() as tg:
            await tg.start(self.sources.run)
            await self._hold()
            if not self._stop.is_set():  # the lease is gone: a follower from now, not after
                self._become(Role.FOLLOWING)  # the pollers have drained
            self.sources.request_stop()  # the pollers drain; run() returns, the group ends

    async def _hold(self) -> None:
        """Renew every ttl/3 until stopped or the lease is lost: refused, or about to expire
        (as this replica counts it) because Redis could not be reached in time."""
        while not self._stop.is_set():
            await self._wait(max(0.0, min(self.interval, self._left())))
            if self._stop.is_set():
                return
            renewed = await self._call(self.lease.renew, within=self._left())
            if renewed is False:
                log.warning("leader lease lost to another replica; stopping the pollers")
                return
            if not self.lease.held():
                log.warning("leader lease expired while Redis was unreachable; stepping down")
                self.lease.forget()
                return

    def _left(self) -> float:
        return self.lease.expires_at - time.monotonic()

    async def _call(
        self, request: Callable[[], Awaitable[bool]], within: float = REDIS_TIMEOUT
    ) -> bool | None:
        """Run a lease request (at most `within` seconds); None (logged, health degraded) if
        Redis failed or was too slow."""
        try:
            with anyio.fail_after(max(0.01, min(REDIS_TIMEOUT, within))):
                result = await request()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("leader lease request failed", error=repr(exc))
            self.health.report("leadership", Status.DEGRADED, f"redis: {exc!r}"[:200])
            return None
        self._report()
        return result

    async def _release(self) -> None:
        if self.lease.value is None:
            return
        try:
            with anyio.fail_after(REDIS_TIMEOUT):
                await self.lease.release()
            log.info("leader lease released")
        except (RedisError, OSError, TimeoutError) as exc:
            self.lease.forget()
            log.warning("could not release the leader lease; it will expire", error=repr(exc))

    async def _wait(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._stop.wait()

    def _become(self, role: Role) -> None:
        if role is not self.role and role not in _ALLOWED[self.role]:
            raise RuntimeError(f"leadership: {self.role} → {role} is not a transition")
        self.role = role
        self._report()

    def _report(self) -> None:
        detail = (
            f"leader (fencing token {self.lease.token})"
            if self.role is Role.LEADING
            else self.role.value
        )
        self.health.report("leadership", Status.OK, detail)
