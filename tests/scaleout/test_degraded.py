"""Redis going away: nothing crashes, the leader serves its own hub, and a leader that cannot
renew steps down before another replica could take the lease over."""

from __future__ import annotations

import anyio
import pytest
from anyio.abc import SocketStream, TaskGroup, TaskStatus
from redis.asyncio import Redis

from a1rt.health import HealthRegistry, Status
from a1rt.pipeline import Hub, Publish, Publisher
from a1rt.pipeline.fanout import Fanout
from a1rt.pipeline.hub import RESYNC
from a1rt.pipeline.leadership import Leadership, Role
from a1rt.pipeline.lease import Lease
from a1rt.pipeline.stream_reader import StreamReader
from a1rt.pipeline.subscriber import Snapshot, SubscriberClosed
from actors import Supervisor

from .conftest import REDIS_URL
from .test_leadership import _Poller

pytestmark = pytest.mark.anyio

NOWHERE = "redis://127.0.0.1:1/3"  # nothing listens there: connection refused
GAMES = "games:basketball_nba"


class _Proxy:
    """A TCP forwarder to the test Redis that can be cut, as a network failure would."""

    def __init__(self) -> None:
        self.port = 0
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - anyio
        async with listener, anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            await listener.serve(self._forward, task_group=tg)

    def cut(self) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()

    async def _forward(self, client: SocketStream) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", 6379) as upstream:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_pipe, client, upstream)
                tg.start_soon(_pipe, upstream, client)


async def _pipe(source: SocketStream, sink: SocketStream) -> None:
    async for chunk in source:
        await sink.send(chunk)


async def test_publisher_keeps_the_leaders_own_hub_going_in_a_local_epoch() -> None:
    redis = Redis.from_url(NOWHERE, socket_connect_timeout=1)
    lease = Lease(redis, "leader")
    lease.value, lease.token, lease.expires_at = "7:leader", 7, float("inf")  # Redis just left
    hub = Hub()
    before = hub.channel(GAMES).epoch
    watching = hub.subscriber()
    hub.subscribe(watching, [GAMES])
    publisher = Publisher(hub, fanout=Fanout(redis, lease))
    for score in (1, 2):
        await publisher.handle_batch([Publish(channel=GAMES, data={"s": score}, key=("e1",))])
    channel = hub.channel(GAMES)
    assert channel.epoch != before and channel.seq == 2  # one new epoch, not one per batch
    with pytest.raises(SubscriberClosed) as closed:
        while watching.get_nowait() is not None:
            pass
    assert closed.value.code == RESYNC
    fresh = hub.subscriber()
    hub.subscribe(fresh, [GAMES])
    snapshot = fresh.get_nowait()
    assert isinstance(snapshot, Snapshot) and [p.data for p in snapshot.items] == [{"s": 2}]
    await redis.aclose()


async def test_stream_reader_and_leadership_survive_redis_being_away() -> None:
    redis = Redis.from_url(NOWHERE, socket_connect_timeout=1)
    health = HealthRegistry()
    reader = StreamReader(redis, Hub(), health)
    poller = _Poller()
    leadership = Leadership(Lease(redis, "a", ttl=0.6), Supervisor("sources", [poller]), health)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(reader.run)
            await tg.start(leadership.run)
            while not all(
                health.snapshot()[c]["status"] == Status.DEGRADED for c in ("redis", "leadership")
            ):
                await anyio.sleep(0.05)
            assert leadership.role is Role.FOLLOWING and not poller.running
            reader.request_stop()
            leadership.request_stop()
    await redis.aclose()


async def test_a_leader_cut_off_from_redis_steps_down_before_the_lease_expires(
    redis_client: Redis,
) -> None:
    ttl = 0.9
    proxy = _Proxy()
    async with anyio.create_task_group() as tg:
        await tg.start(proxy.run)
        cut_off = Redis.from_url(f"redis://127.0.0.1:{proxy.port}/{REDIS_URL.rsplit('/', 1)[1]}",
                                 socket_connect_timeout=0.5)  # fmt: skip
        poller_a, poller_b = _Poller(), _Poller()
        a = Leadership(Lease(cut_off, "a", ttl=ttl), Supervisor("sources", [poller_a]),
                       HealthRegistry())  # fmt: skip
        b = Leadership(Lease(redis_client, "b", ttl=ttl), Supervisor("sources", [poller_b]),
                       HealthRegistry())  # fmt: skip
        await tg.start(a.run)
        with anyio.fail_after(3):
            while not poller_a.running:
                await anyio.sleep(0.01)
        await tg.start(b.run)
        proxy.cut()
        with anyio.fail_after(ttl * 4):
            while not poller_b.running:
                assert not (poller_a.running and poller_b.running), "two leaders at once"
                await anyio.sleep(0.005)
        assert not a.leading and a.role is Role.FOLLOWING
        a.request_stop()
        b.request_stop()
        tg.cancel_scope.cancel()
    await cut_off.aclose()
