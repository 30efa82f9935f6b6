"""The hub: positions, history and resume, snapshots, conflation and slow readers; and the
publisher's routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from a1rt.messages import GameState, OddsUpdate, OutcomePrice, Prediction, PropLine
from a1rt.pipeline.channel import Position, channel_names
from a1rt.pipeline.hub import GOING_AWAY, Hub, UnknownChannel
from a1rt.pipeline.publisher import Publish, Publisher, route, sport_of_model
from a1rt.pipeline.subscriber import (
    SLOW,
    Control,
    Snapshot,
    Subscriber,
    SubscriberClosed,
    Update,
)
from a1rt.store import AlertRecord, OpportunityRecord

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
GAMES = "games:basketball_nba"
ODDS = "odds:basketball_nba"


def drain(sub: Subscriber) -> list[Any]:
    items = []
    while (item := sub.get_nowait()) is not None:
        items.append(item)
    return items


def updates(items: list[Any]) -> list[Update]:
    return [i for i in items if isinstance(i, Update)]


def test_hub_serves_every_channel_of_the_design() -> None:
    hub = Hub(("basketball_nba", "soccer_epl"))
    assert set(hub.channels) == {
        "games:basketball_nba", "odds:basketball_nba", "props:basketball_nba",
        "predictions:basketball_nba", "games:soccer_epl", "odds:soccer_epl", "props:soccer_epl",
        "predictions:soccer_epl", "opportunities", "alerts",
    }  # fmt: skip
    assert set(channel_names(["x"])) == {"games:x", "odds:x", "props:x", "predictions:x",
                                         "opportunities", "alerts"}  # fmt: skip
    with pytest.raises(UnknownChannel):
        hub.publish("games:curling", {"a": 1}, key="e")


def test_seq_rises_by_exactly_one_per_channel_message() -> None:
    hub = Hub()
    games = [hub.publish(GAMES, {"n": i}, key=f"e{i % 3}").seq for i in range(10)]
    alerts = [hub.publish("alerts", {"n": i}).seq for i in range(4)]
    assert games == list(range(1, 11))
    assert alerts == [1, 2, 3, 4]  # channels count separately
    assert hub.channel(GAMES).seq == 10
    with pytest.raises(ValueError, match="needs a key"):
        hub.publish(GAMES, {"no": "key"})


def test_subscribe_queues_the_ack_first_then_the_snapshot_of_latest_per_key() -> None:
    hub = Hub()
    for i in range(6):
        hub.publish(GAMES, {"event": f"e{i % 2}", "n": i}, key=f"e{i % 2}")
    sub = hub.subscriber()
    grants = hub.subscribe(sub, [GAMES, "alerts"], header=lambda g: ("ack", g))
    assert grants[GAMES].seq == 6 and grants[GAMES].recovered is False
    assert grants["alerts"].seq == 0
    items = drain(sub)
    assert isinstance(items[0], Control) and items[0].payload == ("ack", grants)
    snap = items[1]
    assert isinstance(snap, Snapshot) and snap.channel == GAMES and snap.seq == 6
    assert sorted(p.data["n"] for p in snap.items) == [4, 5]  # the latest of each key
    assert len(items) == 2  # an event channel has no snapshot
    hub.publish(GAMES, {"n": 6}, key="e0")
    (live,) = drain(sub)
    assert isinstance(live, Update) and live.pub.seq == 7 and not live.con


def test_resume_replays_the_missed_updates_when_the_history_covers_them() -> None:
    hub = Hub(history=5)
    sub = hub.subscriber()
    hub.subscribe(sub, [GAMES])
    for i in range(3):
        hub.publish(GAMES, {"n": i}, key="e")
    seen = updates(drain(sub))
    last = seen[-1].pub
    hub.remove(sub)
    for i in range(3, 6):
        hub.publish(GAMES, {"n": i}, key="e")
    again = hub.subscriber()
    grants = hub.subscribe(again, [GAMES], {GAMES: Position(last.epoch, last.seq)})
    assert grants[GAMES].recovered is True and grants[GAMES].seq == 6
    replay = drain(again)
    assert all(isinstance(i, Update) for i in replay)  # no snapshot
    assert [u.pub.seq for u in replay] == [4, 5, 6]
    # nothing missed: recovered, nothing replayed
    up_to_date = hub.subscriber()
    assert hub.subscribe(up_to_date, [GAMES], {GAMES: Position(last.epoch, 6)})[GAMES].recovered
    assert drain(up_to_date) == []


def test_resume_not_covered_by_the_history_gets_recovered_false_and_a_snapshot() -> None:
    hub = Hub(history=3)
    epoch = hub.channel(GAMES).epoch
    for i in range(10):
        hub.publish(GAMES, {"n": i}, key=f"e{i % 2}")
    sub = hub.subscriber()
    grants = hub.subscribe(sub, [GAMES], {GAMES: Position(epoch, 2)})
    assert grants[GAMES].recovered is False
    (snap,) = drain(sub)
    assert isinstance(snap, Snapshot) and snap.seq == 10 and len(snap.items) == 2
    # ahead of the channel: not trusted either
    ahead = hub.subscriber()
    assert not hub.subscribe(ahead, [GAMES], {GAMES: Position(epoch, 99)})[GAMES].recovered


def test_history_is_bounded_in_bytes_too() -> None:
    hub = Hub(history=1000, history_bytes=2000)
    epoch = hub.channel("alerts").epoch
    for i in range(20):
        hub.publish("alerts", {"blob": "x" * 400, "n": i})
    assert hub.channel("alerts").since(0) is None
    kept = hub.channel("alerts").since(17)
    assert kept is not None and [p.seq for p in kept] == [18, 19, 20]
    sub = hub.subscriber()
    assert not hub.subscribe(sub, ["alerts"], {"alerts": Position(epoch, 1)})["alerts"].recovered
    assert drain(sub) == []  # event channels have no snapshot


def test_an_epoch_change_invalidates_old_positions() -> None:
    hub = Hub()
    for i in range(3):
        hub.publish(GAMES, {"n": i}, key="e")
    old = hub.channel(GAMES).epoch
    # what a Redis stream reader does after the stream was recreated: a new epoch
    fresh = hub.channel(GAMES)
    pub = fresh.stamp({"n": 99}, "e")
    pub.epoch, pub.seq = "new-epoch", 1
    hub.accept(pub)
    assert fresh.epoch == "new-epoch" and fresh.seq == 1
    sub = hub.subscriber()
    grants = hub.subscribe(sub, [GAMES], {GAMES: Position(old, 3)})
    assert grants[GAMES].recovered is False and grants[GAMES].epoch == "new-epoch"
    (snap,) = drain(sub)
    assert isinstance(snap, Snapshot) and snap.epoch == "new-epoch"
    assert [p.data["n"] for p in snap.items] == [99]


def test_a_slow_subscriber_gets_conflated_state_while_a_fast_one_gets_everything() -> None:
    hub = Hub()
    fast = hub.subscriber()
    slow = hub.subscriber(max_items=3)
    hub.subscribe(fast, [ODDS])
    hub.subscribe(slow, [ODDS])
    drain(fast), drain(slow)  # the (empty) snapshots
    got: list[Update] = []
    for i in range(30):
        hub.publish(ODDS, {"book": f"b{i % 4}", "n": i}, key=("e", f"b{i % 4}", "h2h"))
        got.extend(updates(drain(fast)))  # the fast reader keeps up
    assert [u.pub.seq for u in got] == list(range(1, 31))
    assert not any(u.con for u in got)
    assert fast.conflated == 0
    late = updates(drain(slow))
    plain = [u for u in late if not u.con]
    merged = [u for u in late if u.con]
    assert [u.pub.seq for u in plain] == [1, 2, 3]  # what fitted in its queue
    assert [u.pub.seq for u in merged] == [27, 28, 29, 30]  # then the latest per key
    assert {u.pub.data["book"] for u in merged} == {"b0", "b1", "b2", "b3"}
    seqs = [u.pub.seq for u in late]
    assert seqs == sorted(seqs)  # seq never goes backwards for the reader
    assert slow.conflated == 23  # seq 8..30 each replaced a waiting value of its key
    # caught up: back to plain updates
    hub.publish(ODDS, {"book": "b0", "n": 30}, key=("e", "b0", "h2h"))
    (after,) = drain(slow)
    assert after.pub.seq == 31 and not after.con


def test_conflation_is_triggered_by_the_byte_bound_alone() -> None:
    hub = Hub()
    sub = hub.subscriber(max_items=1000, max_bytes=3000)
    hub.subscribe(sub, [GAMES])
    drain(sub)
    for i in range(10):
        hub.publish(GAMES, {"blob": "y" * 900, "n": i}, key=f"e{i % 2}")
    assert sub.queued_bytes <= 3000
    late = updates(drain(sub))
    assert len(late) < 10 and any(u.con for u in late)
    assert {u.pub.data["n"] for u in late if u.con} == {8, 9}


@pytest.mark.anyio
async def test_a_slow_subscriber_on_an_event_channel_is_closed_with_4008() -> None:
    hub = Hub()
    fast = hub.subscriber()
    slow = hub.subscriber(max_items=2)
    closed: list[SubscriberClosed] = []
    slow.on_close(closed.append)
    hub.subscribe(fast, ["opportunities"])
    hub.subscribe(slow, ["opportunities"])
    for i in range(5):
        hub.publish("opportunities", {"opportunity_id": f"o{i}"})
    assert [u.pub.seq for u in updates(drain(fast))] == [1, 2, 3, 4, 5]
    assert closed and closed[0].code == SLOW
    assert hub.subscribers("opportunities") == 1  # the slow one left the hub
    with pytest.raises(SubscriberClosed) as raised:
        await slow.get()
    assert raised.value.code == SLOW


@pytest.mark.anyio
async def test_get_waits_for_a_publication_and_publishing_never_waits() -> None:
    hub = Hub()
    sub = hub.subscriber(max_items=1)
    hub.subscribe(sub, [GAMES])
    drain(sub)
    got: list[Any] = []

    async def reader() -> None:
        got.append(await sub.get())

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.lowlevel.checkpoint()
        for i in range(100):  # synchronous: it returns whatever the reader is doing
            hub.publish(GAMES, {"n": i}, key="e")
    assert got and isinstance(got[0], Update)


def test_unsubscribe_drops_what_was_queued_for_the_channel() -> None:
    hub = Hub()
    sub = hub.subscriber()
    hub.subscribe(sub, [GAMES, "alerts"])
    drain(sub)
    hub.publish(GAMES, {"n": 1}, key="e")
    hub.publish("alerts", {"n": 2})
    assert hub.unsubscribe(sub, [GAMES, ODDS]) == [GAMES]
    hub.publish(GAMES, {"n": 3}, key="e")
    assert [u.pub.channel for u in updates(drain(sub))] == ["alerts"]
    with pytest.raises(UnknownChannel):
        hub.unsubscribe(sub, ["nope"])
    with pytest.raises(UnknownChannel):
        hub.subscribe(sub, [GAMES, "nope"])
    assert sub.channels == {"alerts"}  # nothing subscribed by the failed call


def test_closing_the_hub_closes_every_subscriber_going_away() -> None:
    hub = Hub()
    sub = hub.subscriber()
    hub.close()
    assert sub.closed is not None and sub.closed.code == GOING_AWAY
    assert hub.subscriber().closed is not None
    assert hub.subscribers() == 0


# --- the publisher's routing --------------------------------------------------------------


def game(event_id: str = "evt", sport: str = "basketball_nba") -> GameState:
    return GameState(
        event_id=event_id, sport=sport, home_team="A", away_team="B", commence_time=NOW,
        status="in_progress", source="simulated", received_at=NOW,
    )  # fmt: skip


def test_route_puts_each_message_on_its_channel_with_its_key() -> None:
    odds = OddsUpdate(
        event_id="evt", sport="soccer_epl", home_team="A", away_team="B", commence_time=NOW,
        book="bk", market="h2h", outcomes=(OutcomePrice(name="A", price=2.0),),
        source="simulated", received_at=NOW,
    )  # fmt: skip
    prop = PropLine(event_id="evt", sport="basketball_nba", player="P", team="A",
                    stat="points", line=20.5, source="prizepicks", received_at=NOW)  # fmt: skip
    pred = Prediction(prediction_id="p1", model="americanfootball_nfl_h2h", version="v1",
                      probabilities={"home": 0.6, "away": 0.4}, confidence=0.2,
                      created_at=NOW, event_id="evt")  # fmt: skip
    assert route(game())[:2] == ("games:basketball_nba", "evt")
    assert route(odds)[:2] == ("odds:soccer_epl", ("evt", "bk", "h2h"))
    assert route(prop)[:2] == ("props:basketball_nba", ("evt", "P", "points", "prizepicks"))
    assert route(pred)[:2] == ("predictions:americanfootball_nfl",
                               ("evt", "americanfootball_nfl_h2h", None))  # fmt: skip
    assert route(msgspec_replace(pred, event_id=None)) is None  # an ad-hoc prediction
    assert route(msgspec_replace(pred, model="test_h2h")) is None  # no sport prefix
    opp = OpportunityRecord(opportunity_id="o1", detected_at=NOW, kind="value", event_id="evt",
                            sport="basketball_nba", market="h2h", edge=0.05)  # fmt: skip
    alert = AlertRecord(alert_id="a1", raised_at=NOW, severity="warning", kind="x", message="m")
    assert route(opp)[0] == "opportunities"
    assert route(alert)[0] == "alerts"
    assert route({"opportunity_id": "o2"})[0] == "opportunities"
    assert route({"alert_id": "a2"})[0] == "alerts"
    assert route({"what": "ever"}) is None and route(42) is None
    assert route(Publish(channel="alerts", data={"x": 1}))[0] == "alerts"
    assert sport_of_model("basketball_nba_h2h") == "basketball_nba"
    data = route(game())[2]
    assert data["event_id"] == "evt" and data["commence_time"] == NOW.isoformat().replace(
        "+00:00", "Z"
    )


def msgspec_replace(message: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(message, **changes)


@pytest.mark.anyio
async def test_publisher_publishes_what_it_is_offered_and_counts_the_rest() -> None:
    hub = Hub()
    publisher = Publisher(hub)
    sub = hub.subscriber()
    hub.subscribe(sub, [GAMES, "alerts"])
    drain(sub)
    async with anyio.create_task_group() as tg:
        await tg.start(publisher.run)
        publisher.offer(game("e1"))
        publisher.offer(game("e2"))
        publisher.offer({"alert_id": "a1", "message": "hello"})
        publisher.offer("not a message")
        publisher.request_stop()  # drains the mailbox, then returns
    got = updates(drain(sub))
    assert [(u.pub.channel, u.pub.seq) for u in got] == [(GAMES, 1), (GAMES, 2), ("alerts", 1)]
    assert publisher.unroutable == 1
    publisher.offer(game("e3"))  # stopped: refused, counted, never raised
    assert publisher.stats().refused == 1
