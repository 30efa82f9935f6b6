"""The leader lease and the fenced stream append, on a real Redis with short TTLs."""

from __future__ import annotations

import anyio
import pytest
from redis.asyncio import Redis

from a1rt.pipeline.fanout import Fanout, NotLeader, meta_key, stream_key
from a1rt.pipeline.lease import Lease

pytestmark = pytest.mark.anyio

TTL = 0.4


async def test_lease_acquire_is_exclusive_and_carries_a_fencing_token(
    redis_client: Redis,
) -> None:
    a, b = Lease(redis_client, "a", ttl=TTL), Lease(redis_client, "b", ttl=TTL)
    assert await a.acquire()
    assert not await b.acquire()
    assert a.held() and not b.held()
    assert await a.holder() == f"{a.token}:a"


async def test_lease_renewal_keeps_it_past_the_ttl(redis_client: Redis) -> None:
    a, b = Lease(redis_client, "a", ttl=TTL), Lease(redis_client, "b", ttl=TTL)
    assert await a.acquire()
    for _ in range(4):  # 4 × ttl/2: well past one TTL
        await anyio.sleep(TTL / 2)
        assert await a.renew()
        assert not await b.acquire()
    assert a.held()


async def test_lease_release_lets_another_replica_take_it_at_once(redis_client: Redis) -> None:
    a, b = Lease(redis_client, "a", ttl=30.0), Lease(redis_client, "b", ttl=30.0)
    assert await a.acquire()
    first = a.token
    assert await a.release()
    assert not a.held()
    assert await b.acquire()
    assert b.token is not None and first is not None and b.token > first


async def test_lease_expiry_lets_another_take_over_and_the_old_one_cannot_renew(
    redis_client: Redis,
) -> None:
    a, b = Lease(redis_client, "a", ttl=TTL), Lease(redis_client, "b", ttl=TTL)
    assert await a.acquire()
    assert not await b.acquire()
    await anyio.sleep(TTL * 1.5)  # the leader died: no renewal
    assert not a.held()  # it would know locally, too
    assert await b.acquire()
    assert not await a.renew()  # compare-and-pexpire: B's value is not A's
    assert a.token is None
    assert not await a.release()
    assert await b.holder() == f"{b.token}:b"


async def test_fenced_append_of_a_deposed_leader_is_refused(redis_client: Redis) -> None:
    a, b = Lease(redis_client, "a", ttl=TTL), Lease(redis_client, "b", ttl=TTL)
    old, new = Fanout(redis_client, a), Fanout(redis_client, b)
    assert await a.acquire()
    [(epoch, seq)] = await old.append([("alerts", None, {"alert_id": "x1"})])
    assert seq == 1
    await anyio.sleep(TTL * 1.5)
    assert await b.acquire()
    [(epoch2, seq2)] = await new.append([("alerts", None, {"alert_id": "x2"})])
    assert (epoch2, seq2) == (epoch, 2)  # the new leader continues the epoch and the seq
    # A has not noticed yet (its clock says it still holds the lease): Redis refuses it.
    a.expires_at = float("inf")
    with pytest.raises(NotLeader):
        await old.append([("alerts", None, {"alert_id": "stale"}), ("odds:soccer_epl", "k", {})])
    assert a.token is None  # and it stops acting as the leader
    assert await redis_client.xlen(stream_key("alerts")) == 2
    assert not await redis_client.exists(stream_key("odds:soccer_epl"))
    assert int(await redis_client.hget(meta_key("alerts"), "seq")) == 2  # type: ignore[arg-type]


async def test_append_without_the_lease_is_refused_locally(redis_client: Redis) -> None:
    lease = Lease(redis_client, "a", ttl=TTL)
    with pytest.raises(NotLeader):
        await Fanout(redis_client, lease).append([("alerts", None, {"alert_id": "x"})])
    assert not await redis_client.exists(stream_key("alerts"))
