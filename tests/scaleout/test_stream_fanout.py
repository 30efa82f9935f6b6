"""Hubs fed from the channel streams: the same positions everywhere, bootstrap, and gaps."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from a1rt.health import HealthRegistry
from a1rt.messages import GameState
from a1rt.pipeline import Hub, Position, Publisher
from a1rt.pipeline.fanout import Fanout
from a1rt.pipeline.hub import RESYNC
from a1rt.pipeline.lease import Lease
from a1rt.pipeline.stream_reader import StreamReader, source_message
from a1rt.pipeline.subscriber import Snapshot, SubscriberClosed, Update

pytestmark = pytest.mark.anyio

GAMES = "games:basketball_nba"


def _game(event_id: str, home_score: int) -> dict[str, object]:
    return {
        "type": "GameState", "event_id": event_id, "sport": "basketball_nba",
        "home_team": "Boston Celtics", "away_team": "New York Knicks",
        "commence_time": "2026-12-01T23:00:00Z", "status": "in_progress", "source": "simulated",
        "received_at": "2026-12-01T23:10:00Z", "home_score": home_score,
    }  # fmt: skip


async def _leader(redis: Redis, **kwargs: int) -> Fanout:
    lease = Lease(redis, "leader", ttl=30.0)
    assert await lease.acquire()
    return Fanout(redis, lease, **kwargs)


def _replica(redis: Redis) -> tuple[Hub, StreamReader]:
    hub = Hub()
    return hub, StreamReader(redis, hub, HealthRegistry())


def _positions(hub: Hub, name: str) -> tuple[str, int, list[int]]:
    channel = hub.channel(name)
    return channel.epoch, channel.seq, [p.seq for p in channel.since(0) or []]


async def test_two_hubs_fed_from_the_streams_show_the_same_epoch_and_seq(
    redis_client: Redis,
) -> None:
    fanout = await _leader(redis_client)
    publisher = Publisher(Hub(), fanout=fanout)  # the leader's: it appends, never publishes
    (hub_a, reader_a), (hub_b, reader_b) = _replica(redis_client), _replica(redis_client)
    await reader_a.bootstrap()
    await reader_b.bootstrap()
    await publisher.handle_batch([
        {"alert_id": "a1", "kind": "x"},
        *[_publish(GAMES, ("e1",), _game("e1", score)) for score in range(5)],
    ])  # fmt: skip
    assert publisher.hub.channel(GAMES).seq == 0  # nothing local: the hubs hear the stream
    assert await reader_a.read_once() == 6
    assert await reader_b.read_once() == 6
    for name in (GAMES, "alerts"):
        assert _positions(hub_a, name) == _positions(hub_b, name)
    epoch, seq, history = _positions(hub_a, GAMES)
    assert (seq, history) == (5, [1, 2, 3, 4, 5])
    [latest] = hub_b.channel(GAMES).snapshot()
    assert latest.key == ("e1",) and latest.data["home_score"] == 4
    game = source_message(latest)  # what a follower's feature cache is fed
    assert isinstance(game, GameState) and game.home_score == 4 and game.event_id == "e1"
    # A replica that starts late bootstraps the same history and state from the stream.
    hub_c, reader_c = _replica(redis_client)
    await reader_c.bootstrap()
    assert _positions(hub_c, GAMES) == (epoch, 5, [1, 2, 3, 4, 5])
    assert [p.data["home_score"] for p in hub_c.channel(GAMES).snapshot()] == [4]
    sub = hub_c.subscriber()
    grants = hub_c.subscribe(sub, [GAMES], {GAMES: Position(epoch, 3)})
    assert grants[GAMES].recovered
    assert [i.pub.seq for i in _drain(sub) if isinstance(i, Update)] == [4, 5]


async def test_a_new_leader_continues_the_epoch_and_seq(redis_client: Redis) -> None:
    first = await _leader(redis_client)
    await first.append([("alerts", None, {"alert_id": "a1"})])
    await first.lease.release()
    second = Lease(redis_client, "second", ttl=30.0)
    assert await second.acquire()
    [(epoch, seq)] = await Fanout(redis_client, second).append([("alerts", None, {"n": 2})])
    hub, reader = _replica(redis_client)
    await reader.bootstrap()
    assert _positions(hub, "alerts") == (epoch, 2, [1, 2])


async def test_a_gap_the_trimmed_stream_cannot_fill_resyncs_subscribers(
    redis_client: Redis,
) -> None:
    fanout = await _leader(redis_client)
    hub, reader = _replica(redis_client)
    await fanout.append([(GAMES, ("e1",), _game("e1", 0))])
    await reader.bootstrap()
    epoch = hub.channel(GAMES).epoch
    sub = hub.subscriber()
    hub.subscribe(sub, [GAMES])
    for score in range(1, 6):
        await fanout.append([(GAMES, ("e1",), _game("e1", score))])
    await redis_client.xtrim(
        "{a1rt}:stream:" + GAMES, maxlen=2, approximate=False
    )  # reader fell behind
    await reader.read_once()
    with pytest.raises(SubscriberClosed) as closed:
        _drain(sub)
    assert closed.value.code == RESYNC
    assert hub.channel(GAMES).seq == 6
    again = hub.subscriber()
    grants = hub.subscribe(again, [GAMES], {GAMES: Position(epoch, 1)})
    assert not grants[GAMES].recovered  # seq 2–4 were never seen here: no partial replay
    [snapshot] = _drain(again)
    assert isinstance(snapshot, Snapshot) and snapshot.seq == 6
    assert [p.data["home_score"] for p in snapshot.items] == [5]


def _publish(channel: str, key: tuple[str, ...], data: object) -> object:
    from a1rt.pipeline import Publish

    return Publish(channel=channel, data=data, key=key)


def _drain(sub: object) -> list[object]:
    items = []
    while (item := sub.get_nowait()) is not None:  # type: ignore[attr-defined]
        items.append(item)
    return items


async def test_an_empty_channel_has_the_cluster_position_so_its_first_message_follows(
    redis_client: Redis,
) -> None:
    (hub_a, reader_a), (hub_b, reader_b) = _replica(redis_client), _replica(redis_client)
    await reader_a.bootstrap()
    await reader_b.bootstrap()
    assert hub_a.channel("alerts").epoch == hub_b.channel("alerts").epoch
    sub = hub_b.subscriber()
    grants = hub_b.subscribe(sub, ["alerts"])
    fanout = await _leader(redis_client)
    [(epoch, seq)] = await fanout.append([("alerts", None, {"alert_id": "first"})])
    assert (epoch, seq) == (grants["alerts"].epoch, 1)
    await reader_b.read_once()
    [update] = _drain(sub)  # delivered, not a resync
    assert isinstance(update, Update) and update.pub.seq == 1
    assert sub.closed is None
