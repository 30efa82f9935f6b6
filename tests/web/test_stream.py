"""`GET /api/v2/stream` against a real uvicorn server in this event loop, with the `websockets`
client: ack before data, snapshot and contiguous updates, resume, msgpack, errors that keep the
connection usable, limits and close codes, and the predict op."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from a1rt.config import load_settings
from a1rt.messages import GameState
from a1rt.pipeline import Runtime
from a1rt.web import create_app
from a1rt.web.server import UVICORN_OPTIONS
from a1rt.web.stream_protocol import StreamLimits

pytestmark = pytest.mark.anyio
FEATURES = {f"x{i}": 0.1 * i for i in range(6)}
GAMES = "games:basketball_nba"
START = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
WAIT = 20.0  # generous: a wait that long means something is broken


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    runtime: Runtime
    http: httpx.AsyncClient
    url: str  # the stream's ws:// URL
    state: Any  # the Litestar app's state: `stream_limits` and, later, `api_keys`

    def ws(self, query: str = "token=t", **kw: Any) -> Any:
        return connect(f"{self.url}?{query}" if query else self.url, **kw)


@contextlib.asynccontextmanager
async def serving(
    models_dir: Path,
    data_dir: Path,
    *,
    live: bool = False,
    conninfo: str | None = None,
    settings: dict[str, Any] | None = None,
    **limits: Any,
) -> AsyncIterator[Served]:
    """A real server on a free port; `live` runs the configured sources (the simulator);
    with `conninfo` it stores, and its API keys are enforced."""
    loaded = load_settings({}, models_dir=models_dir, data_dir=data_dir, model_poll_interval=0.1,
                           **(settings or {}))  # fmt: skip
    runtime = Runtime(loaded, conninfo=conninfo, live=live)
    app = create_app(runtime)
    if limits:
        app.state["stream_limits"] = StreamLimits(**limits)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, timeout_graceful_shutdown=5,
                            **UVICORN_OPTIONS)  # fmt: skip
    server = _Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            with anyio.fail_after(110):  # compiling the shipped models takes a while
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/health/ready")).status_code == 200:
                            break
                    await anyio.sleep(0.05)
            yield Served(runtime, http, f"ws://127.0.0.1:{port}/api/v2/stream", app.state)
        server.should_exit = True


@pytest.fixture
def models(trained_binary: Any, copy_models: Callable[[Any], Path]) -> Path:
    return copy_models(trained_binary)


@pytest.fixture
async def served(models: Path, tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(models, tmp_path / "data") as s:
        yield s


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(WAIT):
        raw = await ws.recv()
    if isinstance(raw, bytes):
        decoded: dict[str, Any] = msgspec.msgpack.decode(raw)
        return decoded
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


async def recv_op(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The next frame, skipping heartbeats; it must be `op`."""
    with anyio.fail_after(WAIT):
        while (frame := await recv(ws))["op"] == "heartbeat":
            pass
    assert frame["op"] == op, frame
    return frame


async def close_code(ws: ClientConnection) -> int:
    with anyio.fail_after(WAIT):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code


def game(event_id: str, home: str = "Lakers", away: str = "Celtics", **kw: Any) -> GameState:
    fields: dict[str, Any] = {"status": "in_progress", "home_score": 0}
    fields.update(kw)
    return GameState(event_id=event_id, sport="basketball_nba", home_team=home, away_team=away,
                     commence_time=START, source="simulated", received_at=START,
                     **fields)  # fmt: skip


async def until(check: Callable[[], bool]) -> None:
    with anyio.fail_after(WAIT):
        while not check():
            await anyio.sleep(0.01)


async def test_ack_comes_first_then_the_snapshot_then_contiguous_updates(served: Served) -> None:
    runtime = served.runtime
    for i in range(3):
        runtime.publisher.offer(game(f"evt-{i}", home=f"Home{i}"))
    channel = runtime.hub.channel(GAMES)
    await until(lambda: channel.seq == 3)
    async with served.ws() as ws:
        await send(ws, {"op": "subscribe", "id": 1, "channels": [GAMES]})
        ack = await recv_op(ws, "ack")
        assert ack["id"] == 1
        assert ack["channels"] == {GAMES: {"epoch": channel.epoch, "seq": 3, "recovered": False}}
        snap = await recv_op(ws, "snapshot")
        assert (snap["ch"], snap["epoch"], snap["seq"]) == (GAMES, channel.epoch, 3)
        assert sorted(g["event_id"] for g in snap["data"]) == ["evt-0", "evt-1", "evt-2"]
        for score in range(1, 6):  # one event each: the publisher's mailbox conflates by key
            runtime.publisher.offer(game(f"evt-{score}", home=f"Home{score}", home_score=score))
        got = [await recv_op(ws, "update") for _ in range(5)]
        assert [u["seq"] for u in got] == [4, 5, 6, 7, 8]
        assert {u["ch"] for u in got} == {GAMES} and {u["epoch"] for u in got} == {channel.epoch}
        assert [u["data"]["home_score"] for u in got] == [1, 2, 3, 4, 5]
        assert all(isinstance(u["ts"], int) and "con" not in u for u in got)


async def test_the_feature_cache_publishes_games_under_the_canonical_event_id(
    served: Served,
) -> None:
    async with served.ws() as ws:
        await send(ws, {"op": "subscribe", "id": "s", "channels": [GAMES]})
        await recv_op(ws, "ack")
        await recv_op(ws, "snapshot")
        await served.runtime.feature_cache.tell(game("provider-123"))
        update = await recv_op(ws, "update")
    event = served.runtime.feature_cache.find("provider-123")
    assert event is not None and update["data"]["event_id"] == event.event_id != "provider-123"


async def test_resume_after_a_reconnect_replays_exactly_the_missed_updates(served: Served) -> None:
    publisher = served.runtime.publisher
    async with served.ws() as ws:
        await send(ws, {"op": "subscribe", "id": 1, "channels": [GAMES, "alerts"]})
        await recv_op(ws, "ack")
        await recv_op(ws, "snapshot")
        publisher.offer(game("evt-1"))
        last = await recv_op(ws, "update")
    for i in range(3):
        publisher.offer(game(f"evt-r{i}", home=f"Home{i}"))
    publisher.offer({"alert_id": "a1", "message": "while you were away"})
    channel = served.runtime.hub.channel(GAMES)
    await until(lambda: channel.seq == last["seq"] + 3)
    alerts_epoch = served.runtime.hub.channel("alerts").epoch
    resume = {GAMES: {"epoch": last["epoch"], "seq": last["seq"]},
              "alerts": {"epoch": alerts_epoch, "seq": 0}}  # fmt: skip
    async with served.ws() as ws:
        await send(ws, {"op": "subscribe", "id": 2, "channels": [GAMES, "alerts"],
                        "resume": resume})  # fmt: skip
        ack = await recv_op(ws, "ack")
        assert ack["channels"][GAMES] == {"epoch": last["epoch"], "seq": last["seq"] + 3,
                                          "recovered": True}  # fmt: skip
        assert ack["channels"]["alerts"]["recovered"] is True
        replayed = [await recv_op(ws, "update") for _ in range(4)]
        games = [u for u in replayed if u["ch"] == GAMES]
        assert [u["seq"] for u in games] == [last["seq"] + 1, last["seq"] + 2, last["seq"] + 3]
        assert [u["data"]["message"] for u in replayed if u["ch"] == "alerts"] == [
            "while you were away"
        ]
        # a position from another epoch is not trusted: recovered false and a fresh snapshot
        stale = {GAMES: {"epoch": "other-epoch", "seq": 1}}
        await send(ws, {"op": "subscribe", "id": 3, "channels": [GAMES], "resume": stale})
        ack = await recv_op(ws, "ack")
        assert ack["channels"][GAMES]["recovered"] is False
        snap = await recv_op(ws, "snapshot")
        assert snap["seq"] == last["seq"] + 3 and len(snap["data"]) == 4


async def test_msgpack_encoding_sends_binary_frames(served: Served) -> None:
    async with served.ws("encoding=msgpack&token=t") as ws:
        await ws.send(msgspec.msgpack.encode({"op": "subscribe", "id": 1, "channels": [GAMES]}))
        with anyio.fail_after(WAIT):
            raw = await ws.recv()
        assert isinstance(raw, bytes)
        assert msgspec.msgpack.decode(raw)["op"] == "ack"
        assert (await recv_op(ws, "snapshot"))["data"] == []
        served.runtime.publisher.offer(game("evt-9"))
        update = await recv_op(ws, "update")
        assert update["data"]["event_id"] == "evt-9" and update["seq"] == 1
        await ws.send(msgspec.msgpack.encode({"op": "ping", "id": 5}))
        assert await recv_op(ws, "pong") == {"op": "pong", "id": 5}


async def test_every_bad_frame_gets_an_error_and_the_connection_stays_usable(
    models: Path, tmp_path: Path
) -> None:
    bad: list[tuple[str | dict[str, Any], str]] = [
        ("{not json", "bad_frame"),
        ("[1, 2]", "bad_request"),
        ({"channels": [GAMES]}, "bad_request"),
        ({"op": "dance", "id": 1}, "unknown_op"),
        ({"op": "subscribe", "id": 2, "channels": ["games:curling"]}, "unknown_channel"),
        ({"op": "subscribe", "id": 3, "channels": "games"}, "bad_request"),
        ({"op": "subscribe", "id": 4, "channels": [GAMES], "resume": {GAMES: {"epoch": 1}}},
         "bad_resume"),
        ({"op": "subscribe", "id": 5, "channels": [GAMES], "resume": {"alerts": {}}},
         "bad_resume"),
        ({"op": "subscribe", "id": 6, "channels": [GAMES, "alerts", "opportunities"]},
         "too_many_channels"),
        ({"op": "unsubscribe", "id": 7, "channels": ["nope"]}, "unknown_channel"),
        ({"op": "predict", "id": 8, "model": "test_h2h", "features": {"x0": 1}}, "invalid"),
        ({"op": "predict", "id": 9, "model": "nope", "features": FEATURES}, "not_found"),
        ("x" * 2000, "frame_too_large"),
    ]  # fmt: skip
    async with serving(models, tmp_path / "data", max_frame=1024, max_channels=2) as served:
        async with served.ws(query="") as ws:
            await send(ws, {"op": "subscribe", "id": 0, "channels": [GAMES]})
            error = await recv_op(ws, "error")
            assert error["code"] == "unauthenticated" and error["temporary"] is False
            await send(ws, {"op": "ping", "id": "before-auth"})  # allowed before auth
            assert (await recv_op(ws, "pong"))["id"] == "before-auth"
            await send(ws, {"op": "auth", "token": "anything", "id": "a"})
            assert (await recv_op(ws, "ack"))["scope"] == "admin"
            for frame, code in bad:
                await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
                error = await recv_op(ws, "error")
                assert error["code"] == code, (frame, error)
                assert error["temporary"] is False and error["message"]
                if isinstance(frame, dict) and "id" in frame:
                    assert error["id"] == frame["id"]
            assert error["code"] == "frame_too_large"
            await send(ws, {"op": "ping", "id": 10})
            assert await recv_op(ws, "pong") == {"op": "pong", "id": 10}
            await send(ws, {"op": "subscribe", "id": 11, "channels": [GAMES]})
            assert (await recv_op(ws, "ack"))["id"] == 11
            await recv_op(ws, "snapshot")
            await send(ws, {"op": "unsubscribe", "id": 12, "channels": [GAMES]})
            assert (await recv_op(ws, "ack"))["unsubscribed"] == [GAMES]
            served.runtime.hub.publish(GAMES, {"after": "unsubscribe"}, key="e")
            await send(ws, {"op": "ping", "id": 13})
            assert (await recv_op(ws, "pong"))["id"] == 13  # no update of GAMES came first


async def test_over_the_message_rate_errors_then_persistent_abuse_closes_4029(
    models: Path, tmp_path: Path
) -> None:
    async with serving(models, tmp_path / "data", rate=0.001, burst=2, strikes=3) as served:
        async with served.ws() as ws:
            for i in range(40):
                try:
                    await send(ws, {"op": "ping", "id": i})
                except ConnectionClosed:
                    break
            frames: list[dict[str, Any]] = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frames.append(await recv(ws))
            assert ws.close_code == 4029
    assert [f["op"] for f in frames[:2]] == ["pong", "pong"]
    limited = [f for f in frames if f["op"] == "error"]
    assert limited and all(f["code"] == "rate_limited" and f["temporary"] for f in limited)


async def test_no_auth_in_time_closes_4001_and_a_refused_token_closes_4501(
    models: Path, tmp_path: Path
) -> None:
    class Keys:
        def scope_of(self, token: str) -> str | None:
            return "read" if token == "good" else None  # noqa: S105

        def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
            return lambda: None  # these keys never change

    async with serving(models, tmp_path / "data", auth_timeout=0.2) as served:
        async with served.ws(query="") as ws:
            assert await close_code(ws) == 4001
        async with served.ws(query="token=t") as ws:  # no key store: any token is admin's
            await send(ws, {"op": "ping", "id": 1})
            assert (await recv_op(ws, "pong"))["id"] == 1
            await anyio.sleep(0.4)  # past the deadline: authenticated at connect, stays open
            await send(ws, {"op": "ping", "id": 2})
            assert (await recv_op(ws, "pong"))["id"] == 2
        served.state["api_keys"] = Keys()
        async with served.ws(query="token=bad") as ws:
            assert await close_code(ws) == 4501
        async with served.ws(query="token=good") as ws:
            await send(ws, {"op": "predict", "id": 1, "model": "test_h2h", "features": FEATURES})
            assert (await recv_op(ws, "error"))["code"] == "forbidden"  # read < predict
        async with served.ws(query="encoding=yaml&token=good") as ws:
            assert await close_code(ws) == 4500


async def test_an_idle_connection_gets_heartbeats(models: Path, tmp_path: Path) -> None:
    async with serving(models, tmp_path / "data", heartbeat=0.1) as served:
        async with served.ws() as ws:
            beat = await recv(ws)
            assert beat["op"] == "heartbeat" and isinstance(beat["ts"], int)


async def test_the_predict_op_answers_what_rest_answers(served: Served) -> None:
    body = {"model": "test_h2h", "features": FEATURES}
    rest = (await served.http.post("/api/v2/predict", json=body)).json()
    async with served.ws() as ws:
        await send(ws, {"op": "predict", "id": 42, **body})
        result = await recv_op(ws, "result")
    assert result["id"] == 42
    streamed = result["data"]
    assert set(streamed) == set(rest)
    for volatile in ("prediction_id", "created_at"):
        streamed.pop(volatile), rest.pop(volatile)
    assert streamed == rest


async def test_a_client_that_stops_reading_an_event_channel_is_closed_4008(
    models: Path, tmp_path: Path
) -> None:
    async with serving(models, tmp_path / "data", queue_items=4, close_timeout=60.0) as served:
        hub = served.runtime.hub
        # a client that does not read (and does not compress, so the socket fills up)
        async with served.ws(max_queue=1, ping_interval=None, compression=None) as ws:
            await send(ws, {"op": "subscribe", "id": 1, "channels": ["alerts"]})
            await recv_op(ws, "ack")
            blob = "z" * 65_536
            with anyio.fail_after(60):
                n = 0
                while hub.subscribers("alerts"):
                    hub.publish("alerts", {"alert_id": f"a{n}", "blob": blob})
                    n += 1
                    await anyio.sleep(0.001)
            assert await close_code(ws) == 4008


# --- the direct path (`frame_writer`): updates written straight to a client that keeps up ----


async def test_updates_to_a_client_that_keeps_up_take_the_direct_path(served: Served) -> None:
    hub = served.runtime.hub
    async with served.ws() as fast, served.ws("encoding=msgpack&token=t") as binary:
        for ws in (fast, binary):
            await send(ws, {"op": "subscribe", "id": 1, "channels": [GAMES]})
            await recv_op(ws, "ack")
            await recv_op(ws, "snapshot")
        pubs = [hub.publish(GAMES, {"n": n}, key=f"evt-{n % 7}") for n in range(200)]
        for ws in (fast, binary):
            got = [await recv_op(ws, "update") for _ in pubs]
            assert [u["seq"] for u in got] == [p.seq for p in pubs]
            assert [u["data"]["n"] for u in got] == list(range(200))
    # framed once per encoding and shared: the direct path wrote them
    assert all({"json/ws", "msgpack/ws"} <= set(p.frames) for p in pubs)


async def conflations(served: Served, channel: str) -> float:
    """The hub's conflation counter for `channel`, read off /metrics."""
    text = (await served.http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(f'a1rt_hub_conflations_total{{channel="{channel}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_client_that_stops_reading_moves_from_direct_writes_to_conflation_in_order(
    models: Path, tmp_path: Path
) -> None:
    async with serving(models, tmp_path / "data", queue_items=8) as served:
        hub = served.runtime.hub
        # a client that does not read (and does not compress, so the socket fills up)
        async with (
            served.ws() as fast,
            served.ws(max_queue=1, ping_interval=None, compression=None) as slow,
        ):
            starts = []
            for ws in (fast, slow):
                await send(ws, {"op": "subscribe", "id": 1, "channels": [GAMES]})
                await recv_op(ws, "ack")
                starts.append((await recv_op(ws, "snapshot"))["seq"])
            fast_got: list[dict[str, Any]] = []

            async def read_fast() -> None:
                while True:
                    fast_got.append(await recv_op(fast, "update"))

            blob = "z" * 65_536
            async with anyio.create_task_group() as tg:
                tg.start_soon(read_fast)
                n, more = 0, 20
                with anyio.fail_after(60):
                    while more:  # until the slow one conflates, then 20 more
                        last = hub.publish(GAMES, {"n": n, "blob": blob}, key=f"evt-{n % 5}")
                        n += 1
                        await anyio.sleep(0.001)
                        if more < 20 or await conflations(served, GAMES) > 0:
                            more -= 1
                await until(lambda: bool(fast_got) and fast_got[-1]["seq"] == last.seq)
                tg.cancel_scope.cancel()
            # the fast one got everything, in order, never conflated
            assert [u["seq"] for u in fast_got] == list(range(starts[0] + 1, last.seq + 1))
            assert not any(u.get("con") for u in fast_got)
            # the slow one: contiguous (written directly, then queued) until conflation, then
            # the latest per key, rising; nothing out of order, the newest value of every key
            got = []
            with anyio.fail_after(WAIT):
                while not got or got[-1]["seq"] != last.seq:
                    got.append(await recv_op(slow, "update"))
            seqs = [u["seq"] for u in got]
            first_con = next(i for i, u in enumerate(got) if u.get("con"))
            assert first_con > 0 and seqs[:first_con] == list(
                range(starts[1] + 1, starts[1] + 1 + first_con)
            )
            assert seqs == sorted(set(seqs)) and len(seqs) < last.seq - starts[1]
            latest = {u["data"]["n"] % 5: u["data"]["n"] for u in got}
            assert latest == {k: max(m for m in range(n) if m % 5 == k) for k in range(5)}


async def test_direct_writes_count_as_traffic_so_heartbeats_only_fill_silences(
    models: Path, tmp_path: Path
) -> None:
    async with serving(models, tmp_path / "data", heartbeat=0.3) as served:
        hub = served.runtime.hub
        async with served.ws() as ws:
            await send(ws, {"op": "subscribe", "id": 1, "channels": [GAMES]})
            await recv_op(ws, "ack")
            await recv_op(ws, "snapshot")
            for n in range(15):  # 1.5 s of updates every 0.1 s: never silent for 0.3 s
                hub.publish(GAMES, {"n": n}, key="evt-1")
                assert (await recv(ws))["op"] == "update"
                await anyio.sleep(0.1)
            assert (await recv(ws))["op"] == "heartbeat"  # then silence: a heartbeat
