"""The stream's own checks, against a scripted fake server: gaps by `seq` (a jump, an epoch
change without a snapshot) are reported and repaired by resubscribing, garbage frames never end
the iterator, and a silent connection is dropped and resumed."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest
from aiohttp import web

from a1rt.client import (
    Backoff,
    Client,
    Event,
    Gap,
    OpError,
    Reset,
    Snapshot,
    Stream,
    StreamRefused,
    StreamState,
    TransportError,
    Update,
)
from tests.client.fake_server import Peer, fake_stream

pytestmark = pytest.mark.anyio
CH = "games:basketball_nba"
WAIT = 10.0


async def take(stream: Stream, n: int) -> list[Event]:
    events: list[Event] = []
    with anyio.fail_after(WAIT):
        while len(events) < n:
            events.append(await anext(stream))
    return events


def seqs(events: list[Event]) -> list[tuple[str, int]]:
    """Each event as (kind, seq) for compact assertions (a Gap's seq is the one it saw)."""
    out = []
    for e in events:
        match e:
            case Snapshot(seq=seq) | Update(seq=seq) | Reset(seq=seq):
                out.append((type(e).__name__, seq))
            case Gap(seen=(_, seq)):
                out.append(("Gap", seq))
    return out


async def opened(peer: Peer, seq: int = 0, epoch: str = "E") -> dict[str, Any]:
    """Answer the client's first subscribe: ack and an empty snapshot at `seq`."""
    subscribe = await peer.recv("subscribe")
    await peer.ack(subscribe, epoch, seq, recovered=False)
    await peer.send("snapshot", ch=CH, epoch=epoch, seq=seq, data=[])
    return subscribe


def fast() -> Backoff:
    return Backoff(base=0.02, cap=0.1)


async def test_stream_gap_is_reported_and_repaired_from_the_last_position() -> None:
    async def script(peer: Peer) -> None:
        await opened(peer)
        for seq in (1, 2, 4, 5):  # 3 is missing; 5 is on the wire before the resubscribe lands
            await peer.update(CH, "E", seq)
        repair = await peer.recv("subscribe")
        assert repair["channels"] == [CH]
        assert repair["resume"] == {CH: {"epoch": "E", "seq": 2}}
        await peer.ack(repair, "E", 5, recovered=True)
        for seq in (3, 4, 5, 6):
            await peer.update(CH, "E", seq)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH], backoff=fast()) as stream:
            events = await take(stream, 8)
            assert stream.positions() == {CH: ("E", 6)}
            assert stream.gaps == 1 and stream.reconnects == 0
    assert seqs(events) == [("Snapshot", 0), ("Update", 1), ("Update", 2), ("Gap", 4),
                            ("Update", 3), ("Update", 4), ("Update", 5), ("Update", 6)]  # fmt: skip
    assert events[3] == Gap(CH, after=("E", 2), seen=("E", 4))
    assert len(peers) == 1


async def test_stream_gap_the_server_cannot_fill_yields_a_reset_and_the_new_snapshot() -> None:
    async def script(peer: Peer) -> None:
        await opened(peer)
        await peer.update(CH, "E", 1)
        await peer.update(CH, "F", 1)  # a new epoch, and no snapshot: state may have been lost
        repair = await peer.recv("subscribe")
        assert repair["resume"] == {CH: {"epoch": "E", "seq": 1}}
        await peer.ack(repair, "F", 1, recovered=False)
        await peer.send("snapshot", ch=CH, epoch="F", seq=1, data=[{"n": 1}])
        await peer.update(CH, "F", 2)

    async with fake_stream(script) as (url, _), Client(url) as client:
        async with client.stream([CH], backoff=fast()) as stream:
            events = await take(stream, 6)
            assert stream.positions() == {CH: ("F", 2)}
    assert seqs(events) == [("Snapshot", 0), ("Update", 1), ("Gap", 1), ("Reset", 1),
                            ("Snapshot", 1), ("Update", 2)]  # fmt: skip
    assert events[2] == Gap(CH, after=("E", 1), seen=("F", 1))
    reset = events[3]
    assert (
        isinstance(reset, Reset) and (reset.epoch, reset.seq) == ("F", 1) and "E:1" in reset.reason
    )
    assert events[4] == Snapshot(CH, "F", 1, [{"n": 1}])


async def test_stream_conflated_updates_may_skip_seq_and_duplicates_are_dropped() -> None:
    async def script(peer: Peer) -> None:
        await opened(peer)
        await peer.update(CH, "E", 1)
        await peer.update(CH, "E", 4, con=True)  # 2 and 3 were superseded: not a gap
        await peer.update(CH, "E", 4)  # a duplicate
        await peer.update(CH, "E", 5)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH]) as stream:
            events = await take(stream, 1)
            with anyio.fail_after(WAIT):  # the connection has read ahead of the caller ...
                while stream._positions.current() != {CH: ("E", 5)}:
                    await anyio.sleep(0.005)
            assert stream.positions() == {CH: ("E", 0)}  # ... who is told what it was given
            events += await take(stream, 3)
            assert stream.positions() == {CH: ("E", 5)} and stream.gaps == 0
    assert seqs(events) == [("Snapshot", 0), ("Update", 1), ("Update", 4), ("Update", 5)]
    assert [e.con for e in events if isinstance(e, Update)] == [False, True, False]
    assert [f["op"] for f in peers[0].received] == ["subscribe"]  # no repair was asked for


async def test_stream_garbage_frames_are_counted_and_never_end_the_iterator() -> None:
    garbage: list[str | bytes] = [
        "{not json",
        b"\x00\xff\xfe",  # binary on a JSON connection, and not JSON either
        "[1, 2]",
        '{"op": "update", "ch": "games:basketball_nba"}',  # a known op missing its fields
        '{"op": "update", "ch": "games:basketball_nba", "epoch": "E", "seq": -1, "ts": 0, '
        '"data": null}',
        '{"op": "snapshot", "ch": 7, "epoch": "E", "seq": 0, "data": []}',
    ]

    async def script(peer: Peer) -> None:
        await opened(peer)
        for frame in garbage:
            await peer.raw(frame)
        await peer.send("brand_new_op", anything=True)  # unknown ops are skipped, not garbage
        await peer.send("error", code="bad_frame", message="not JSON", temporary=False)
        await peer.update(CH, "E", 1)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH]) as stream:
            events = await take(stream, 2)
            assert stream.bad_frames == len(garbage)
            assert stream.reconnects == 0
    assert seqs(events) == [("Snapshot", 0), ("Update", 1)]
    assert len(peers) == 1


async def test_stream_silent_connection_is_dropped_and_resumed_on_a_new_one() -> None:
    async def script(peer: Peer) -> None:
        if peer.number == 1:
            await opened(peer)
            await peer.update(CH, "E", 1)
            with anyio.fail_after(WAIT):  # then nothing at all, until the client gives up on it
                await peer.ws.wait_closed()
            return
        subscribe = await peer.recv("subscribe")
        assert subscribe["resume"] == {CH: {"epoch": "E", "seq": 1}}
        await peer.ack(subscribe, "E", 2, recovered=True)
        await peer.update(CH, "E", 2)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH], heartbeat=0.1, backoff=fast()) as stream:
            with anyio.fail_after(WAIT):
                events = await take(stream, 3)
            assert stream.reconnects == 1
    assert seqs(events) == [("Snapshot", 0), ("Update", 1), ("Update", 2)]
    assert len(peers) == 2


async def test_stream_heartbeats_keep_a_quiet_connection_alive() -> None:
    async def script(peer: Peer) -> None:
        await opened(peer)
        for _ in range(12):  # 0.6 s of heartbeats only: well past 2.5 x 0.1 s of quiet data
            await peer.send("heartbeat", ts=0)
            await anyio.sleep(0.05)
        await peer.update(CH, "E", 1)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH], heartbeat=0.1, backoff=fast()) as stream:
            events = await take(stream, 2)
            assert stream.reconnects == 0
    assert seqs(events) == [("Snapshot", 0), ("Update", 1)]
    assert len(peers) == 1


async def test_stream_retryable_close_reconnects_and_a_4500_close_raises() -> None:
    async def script(peer: Peer) -> None:
        await opened(peer)
        if peer.number == 1:
            await peer.ws.close(4029, "too many messages")
        else:
            await peer.ws.close(4500, "encoding: expected one of json, msgpack")

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH], backoff=fast()) as stream:
            with pytest.raises(StreamRefused) as refused:
                await take(stream, 10)
    assert refused.value.code == 4500 and "encoding" in str(refused.value)
    assert len(peers) == 2
    assert peers[1].received[0]["resume"] == {CH: {"epoch": "E", "seq": 0}}


async def test_stream_unreachable_server_is_retried_and_ops_fail_as_transport_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with Client(url, timeout=0.3) as client:
            async with client.stream([CH], backoff=fast()) as stream:
                with pytest.raises(TransportError, match="no answer within"):
                    await stream.predict(model="m")
                assert stream.reconnects >= 2 and stream.state is not StreamState.LIVE


async def test_stream_handshake_refused_with_401_raises() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"title": "Unauthorized", "status": 401}, status=401)

    app = web.Application()
    app.router.add_get("/api/v2/stream", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Client(f"http://127.0.0.1:{port}", "k") as client, client.stream([CH]) as s:
            with pytest.raises(StreamRefused) as refused, anyio.fail_after(WAIT):
                await anext(s)
    finally:
        await runner.cleanup()
    assert refused.value.status == 401 and refused.value.code is None


async def test_stream_without_a_key_on_a_server_that_wants_one_says_so() -> None:
    async def script(peer: Peer) -> None:
        subscribe = await peer.recv("subscribe")  # no auth frame came first: no key was given
        await peer.send("error", id=subscribe["id"], code="unauthenticated",
                        message="send auth{token} first", temporary=False)  # fmt: skip

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH]) as stream:
            with pytest.raises(OpError, match="api_key") as refused, anyio.fail_after(WAIT):
                await anext(stream)
    assert refused.value.code == "unauthenticated" and len(peers) == 1


async def test_stream_predict_while_reconnecting_waits_for_the_new_connection() -> None:
    async def script(peer: Peer) -> None:
        if peer.number == 1:
            await opened(peer)
            await peer.ws.close(4002, "going away")
            return
        subscribe = await peer.recv("subscribe")
        await peer.ack(subscribe, "E", 0, recovered=True)
        predict = await peer.recv("predict")
        assert predict["model"] == "m"
        await peer.send("result", id=predict["id"], data={"model": "m", "asked": predict["id"]})

    async with fake_stream(script) as (url, peers), Client(url, timeout=WAIT) as client:
        async with client.stream([CH], backoff=Backoff(base=0.4, cap=0.4, jitter=0.1)) as stream:
            await take(stream, 1)
            with anyio.fail_after(WAIT):
                while stream.state is not StreamState.WAITING:
                    await anyio.sleep(0.005)
            result = await stream.predict(model="m")
            assert stream.state is StreamState.LIVE
    assert result["model"] == "m" and isinstance(result["asked"], int)
    assert len(peers) == 2


async def test_stream_dropped_connection_without_a_close_frame_resumes() -> None:
    async def script(peer: Peer) -> None:
        if peer.number == 1:
            await opened(peer)
            await peer.update(CH, "E", 1)
            await anyio.sleep(0.05)
            peer.ws.transport.abort()  # the network goes: no close frame
            return
        subscribe = await peer.recv("subscribe")
        assert subscribe["resume"] == {CH: {"epoch": "E", "seq": 1}}
        await peer.ack(subscribe, "E", 2, recovered=True)
        await peer.update(CH, "E", 2)

    async with fake_stream(script) as (url, peers), Client(url) as client:
        async with client.stream([CH], backoff=fast()) as stream:
            events = await take(stream, 3)
            assert stream.reconnects == 1
    assert seqs(events) == [("Snapshot", 0), ("Update", 1), ("Update", 2)]
    assert len(peers) == 2


async def test_stream_arguments_are_checked_when_the_stream_is_made() -> None:
    async with Client("http://127.0.0.1:1") as client:
        with pytest.raises(TypeError, match="list of channel names"):
            client.stream("alerts")
        with pytest.raises(ValueError, match="resume.alerts"):
            client.stream(["alerts"], resume={"alerts": ("E", -1)})
        with pytest.raises(ValueError, match="not one of the channels"):
            client.stream(["alerts"], resume={CH: ("E", 1)})
        stream = client.stream(["alerts"])  # made, never entered: nothing to clean up or warn
        with pytest.raises(RuntimeError, match="inside `async with"):
            await anext(stream)
