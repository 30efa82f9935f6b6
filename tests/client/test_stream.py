"""`Client.stream` against a real server: the snapshot then updates in seq order (JSON and
msgpack), reconnect after the server closes the connection (4002 going away, 4008 slow) with
a resume that loses and repeats nothing, a refused resume as Reset + snapshot, a refused token
raising, and predictions over the open stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from a1rt.client import (
    Backoff,
    Client,
    Event,
    OpError,
    Reset,
    Snapshot,
    Stream,
    StreamRefused,
    StreamState,
    Update,
)
from a1rt.pipeline.subscriber import Subscriber
from tests.web.test_stream import Served

pytestmark = pytest.mark.anyio
FEATURES = {f"x{i}": 0.1 * i for i in range(6)}
WAIT = 10.0


async def take(stream: Stream, n: int) -> list[Event]:
    events: list[Event] = []
    with anyio.fail_after(WAIT):
        while len(events) < n:
            events.append(await anext(stream))
    return events


def publish(served: Served, channel: str, *keys: str) -> None:
    for key in keys:
        served.runtime.hub.publish(channel, {"event_id": key}, key=key)


def fast() -> Backoff:
    return Backoff(base=0.02, cap=0.1)


@pytest.mark.parametrize(
    ("encoding", "channel"),
    [("json", "games:basketball_nba"), ("msgpack", "games:soccer_epl")],
)
async def test_stream_snapshot_then_updates_in_seq_order(
    served: Served, base_url: str, encoding: Any, channel: str
) -> None:
    publish(served, channel, "evt-0", "evt-1")
    epoch = served.runtime.hub.channel(channel).epoch
    async with Client(base_url, "key") as client, client.stream([channel], encoding=encoding) as s:
        (snapshot,) = await take(s, 1)
        assert s.state is StreamState.LIVE
        publish(served, channel, *(f"evt-{i}" for i in range(2, 7)))
        updates = await take(s, 5)
        assert s.positions() == {channel: (epoch, 7)}
    assert snapshot == Snapshot(channel, epoch, 2, [{"event_id": "evt-0"}, {"event_id": "evt-1"}])
    assert all(isinstance(u, Update) and u.epoch == epoch and not u.con for u in updates)
    assert [(u.seq, u.data["event_id"]) for u in updates if isinstance(u, Update)] == [
        (3, "evt-2"), (4, "evt-3"), (5, "evt-4"), (6, "evt-5"), (7, "evt-6")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "channel"), [(4002, "odds:basketball_nba"), (4008, "odds:soccer_epl")]
)
async def test_stream_reconnects_after_a_server_close_and_resumes_without_gap_or_duplicate(
    served: Served, base_url: str, monkeypatch: pytest.MonkeyPatch, code: int, channel: str
) -> None:
    hub = served.runtime.hub
    subscribers: list[Subscriber] = []
    make = hub.subscriber

    def recorded(**kw: Any) -> Subscriber:
        subscribers.append(sub := make(**kw))
        return sub

    monkeypatch.setattr(hub, "subscriber", recorded)
    async with Client(base_url, "key") as client:
        async with client.stream([channel, "alerts"], backoff=fast()) as stream:
            (snapshot,) = await take(stream, 1)
            publish(served, channel, "a", "b", "c")
            before = await take(stream, 3)
            subscribers[0].close(code, "closed by the test")
            publish(served, channel, "d", "e", "f")  # while the client is away
            hub.publish("alerts", {"alert_id": f"while away {code}"})
            with anyio.fail_after(WAIT):
                while hub.subscribers(channel) == 0 or len(subscribers) < 2:
                    await anyio.sleep(0.01)
            publish(served, channel, "g", "h")  # after the resume
            after = await take(stream, 6)
            assert stream.reconnects == 1 and stream.gaps == 0
            assert stream.positions()[channel][1] == 8
    events = [*before, *after]
    assert all(isinstance(e, Update) for e in events), events  # no Reset, no second snapshot
    state = [e.seq for e in events if isinstance(e, Update) and e.channel == channel]
    assert isinstance(snapshot, Snapshot) and snapshot.seq == 0
    assert state == [1, 2, 3, 4, 5, 6, 7, 8]
    alerts = [e.data for e in events if isinstance(e, Update) and e.channel == "alerts"]
    assert alerts == [{"alert_id": f"while away {code}"}]


async def test_stream_resume_the_server_cannot_honour_yields_reset_then_a_snapshot(
    served: Served, base_url: str
) -> None:
    channel = "props:basketball_nba"
    publish(served, channel, "evt-0", "evt-1")
    epoch = served.runtime.hub.channel(channel).epoch
    async with Client(base_url, "key") as client:
        stream = client.stream([channel], resume={channel: ("an-epoch-long-gone", 41)})
        async with stream:
            reset, snapshot = await take(stream, 2)
            publish(served, channel, "evt-2")
            (update,) = await take(stream, 1)
    assert isinstance(reset, Reset) and (reset.channel, reset.epoch, reset.seq) == (
        channel, epoch, 2
    )  # fmt: skip
    assert isinstance(snapshot, Snapshot) and snapshot.seq == 2 and len(snapshot.data) == 2
    assert isinstance(update, Update) and update.seq == 3


async def test_stream_refused_token_raises_stream_refused(served: Served, base_url: str) -> None:
    class Keys:
        def scope_of(self, token: str) -> str | None:
            return "read" if token == "good" else None  # noqa: S105

        def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
            return lambda: None  # these keys never change

    served.state["api_keys"] = Keys()
    try:
        async with Client(base_url, "revoked") as client:
            async with client.stream(["alerts"], backoff=fast()) as stream:
                with pytest.raises(StreamRefused) as refused, anyio.fail_after(WAIT):
                    await anext(stream)
                assert stream.reconnects == 0
                with pytest.raises(StopAsyncIteration):
                    await anext(stream)  # and the stream has ended
    finally:
        served.state["api_keys"] = None  # the module's other tests share this server
    assert refused.value.code == 4501


async def test_stream_unknown_channel_raises_op_error(served: Served, base_url: str) -> None:
    async with Client(base_url, "key") as client, client.stream(["games:curling"]) as stream:
        with pytest.raises(OpError) as unknown, anyio.fail_after(WAIT):
            await anext(stream)
    assert unknown.value.code == "unknown_channel" and not unknown.value.temporary


async def test_stream_predict_correlates_results_by_id(served: Served, base_url: str) -> None:
    results: dict[str, dict[str, Any]] = {}
    async with Client(base_url, "key") as client, client.stream(["alerts"]) as stream:

        async def ask(name: str, **body: Any) -> None:
            results[name] = await stream.predict(**body)

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: ask("plain", model="test_h2h", features=FEATURES))
            tg.start_soon(lambda: ask("explained", model="test_h2h", features=FEATURES,
                                      explain=True))  # fmt: skip
        with pytest.raises(OpError) as unknown:
            await stream.predict(model="nope", features=FEATURES)
        await stream.ping()
    assert "explanation" in results["explained"] and "explanation" not in results["plain"]
    assert results["plain"]["probabilities"] == results["explained"]["probabilities"]
    assert (unknown.value.code, unknown.value.status) == ("not_found", 404)
