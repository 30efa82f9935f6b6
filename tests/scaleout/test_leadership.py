"""The leadership service runs the sources subtree only while it holds the lease."""

from __future__ import annotations

import time

import anyio
import pytest
from anyio.abc import TaskStatus
from redis.asyncio import Redis

from a1rt.health import HealthRegistry
from a1rt.pipeline.leadership import Leadership, Role
from a1rt.pipeline.lease import Lease
from actors import Supervisor

pytestmark = pytest.mark.anyio

TTL = 0.6


class _Poller:
    """A stand-in source: records whether it is running."""

    name = "poller"

    def __init__(self) -> None:
        self.running = False
        self._stop = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._stop = anyio.Event()
        self.running = True
        task_status.started()
        try:
            await self._stop.wait()
        finally:
            self.running = False

    def request_stop(self) -> None:
        self._stop.set()


def _replica(redis: Redis, name: str) -> tuple[Leadership, _Poller]:
    poller = _Poller()
    sources = Supervisor("sources", [poller])
    return Leadership(Lease(redis, name, ttl=TTL), sources, HealthRegistry()), poller


async def _until(predicate: object, within: float) -> float:
    started = time.monotonic()
    with anyio.fail_after(within):
        while not predicate():  # type: ignore[operator]
            await anyio.sleep(0.01)
    return time.monotonic() - started


async def test_leadership_one_replica_polls_and_a_graceful_stop_hands_over_at_once(
    redis_client: Redis,
) -> None:
    (a, poller_a), (b, poller_b) = _replica(redis_client, "a"), _replica(redis_client, "b")
    async with anyio.create_task_group() as tg:
        await tg.start(a.run)
        await _until(lambda: a.leading and poller_a.running, 2.0)
        await tg.start(b.run)
        await anyio.sleep(TTL * 2)  # b keeps trying, every ttl/3, and keeps failing
        assert b.role is Role.FOLLOWING and not poller_b.running
        assert a.leading and poller_a.running
        a.request_stop()
        await _until(lambda: a.role is Role.STOPPED, 2.0)
        assert not poller_a.running
        # Released, not expired: b takes over on its next try (≤ ttl/3), before the TTL.
        took = await _until(lambda: b.leading and poller_b.running, TTL)
        assert took < TTL
        assert b.lease.token is not None and a.tenures == 1
        b.request_stop()
    assert not poller_b.running
    assert await redis_client.get("{a1rt}:leader") is None


async def test_leadership_lost_to_another_replica_stops_the_pollers(redis_client: Redis) -> None:
    a, poller = _replica(redis_client, "a")
    async with anyio.create_task_group() as tg:
        await tg.start(a.run)
        await _until(lambda: a.leading and poller.running, 2.0)
        await redis_client.set("{a1rt}:leader", "999:usurper", px=int(TTL * 3000))
        await _until(lambda: not poller.running, TTL)
        assert a.role is Role.FOLLOWING and not a.leading
        a.request_stop()
    assert await redis_client.get("{a1rt}:leader") == b"999:usurper"  # never deleted
