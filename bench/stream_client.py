"""The load client: one process holding many websocket subscribers, the same for every server.

Each subscriber connects (`stream_wire`), sends `subscribe` for the bench channel and takes the
channel's position from the `ack`; from then on every `update` is checked against it (`seq`
must rise by exactly one; a jump is a gap, `con: true` a conflated frame) and its latency,
receipt minus the publish stamp in its data, goes into the step's histogram (the step id is in
the data too). Heartbeats are counted per connection, and so are closes, with their codes.

`client_main` is a spawned process's entry point. Commands over its pipe: ``connect(group,
host, port, path, n, concurrency)``, ``counts(step)``, ``collect()`` (the step tallies so far, then
reset), ``status()``, ``disconnect(group)``, ``stop()``. It runs on uvloop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import msgspec
import uvloop

from .stream_publish import CHANNEL, raise_open_files
from .stream_stats import SeqTracker, StepTally
from .stream_wire import HandshakeFailed, WireClient, WireState, connect

ACK_TIMEOUT_S = 30.0
SUBSCRIBE = msgspec.json.encode({"op": "subscribe", "id": 1, "channels": [CHANNEL]})


class Stamp(msgspec.Struct):
    """The bench's fields in an update's data (the rest of the body is skipped)."""

    s: int  # step
    t: int  # intended publish time, time_ns


class UpdateFrame(msgspec.Struct, tag_field="op", tag="update"):
    seq: int
    data: Stamp
    con: bool = False


class Position(msgspec.Struct):
    seq: int


class AckFrame(msgspec.Struct, tag_field="op", tag="ack"):
    channels: dict[str, Position]


class HeartbeatFrame(msgspec.Struct, tag_field="op", tag="heartbeat"):
    ts: int


class SnapshotFrame(msgspec.Struct, tag_field="op", tag="snapshot"):
    seq: int


class ErrorFrame(msgspec.Struct, tag_field="op", tag="error"):
    code: str


Frame = UpdateFrame | AckFrame | HeartbeatFrame | SnapshotFrame | ErrorFrame
_decode = msgspec.json.Decoder(Frame).decode


class Book:
    """This process's tallies: one per step, and the frames it could not place."""

    def __init__(self) -> None:
        self.steps: dict[int, StepTally] = {}
        self.received_total = 0
        self.unknown: Counter[str] = Counter()

    def tally(self, step: int) -> StepTally:
        found = self.steps.get(step)
        if found is None:
            found = self.steps[step] = StepTally()
        return found


class Subscriber:
    """One connection's reading of the stream."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.position = SeqTracker()
        self.heartbeats = 0
        self.errors = 0
        self.client: WireClient | None = None
        self.acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_message(self, raw: bytes, received_ns: int) -> None:
        try:
            frame = _decode(raw)
        except msgspec.DecodeError:
            self.book.unknown["undecodable"] += 1
            return
        if isinstance(frame, UpdateFrame):
            self._update(frame, received_ns)
        elif isinstance(frame, HeartbeatFrame):
            self.heartbeats += 1
        elif isinstance(frame, AckFrame):
            if CHANNEL in frame.channels and not self.acked.done():
                self.position.last = frame.channels[CHANNEL].seq
                self.acked.set_result(None)
        elif isinstance(frame, ErrorFrame):
            self.errors += 1
            self.book.unknown[f"error:{frame.code}"] += 1

    def _update(self, frame: UpdateFrame, received_ns: int) -> None:
        tally = self.book.tally(frame.data.s)
        tally.received += 1
        self.book.received_total += 1
        skipped = self.position.observe(frame.seq)
        if skipped:
            tally.gaps += 1
            tally.seq_missed += skipped
        if frame.con:
            tally.conflated += 1
        tally.latency.record_ns(received_ns - frame.data.t)

    @property
    def is_open(self) -> bool:
        return self.client is not None and self.client.state is WireState.OPEN


class LoadClient:
    """Groups of subscribers (one group per server under test) and the book they share."""

    def __init__(self) -> None:
        self.book = Book()
        self.groups: dict[str, list[Subscriber]] = {}

    async def connect(
        self, group: str, host: str, port: int, path: str, n: int, concurrency: int
    ) -> dict[str, Any]:
        """Open and subscribe ``n`` connections, at most ``concurrency`` handshakes at once."""
        members = self.groups.setdefault(group, [])
        gate = asyncio.Semaphore(concurrency)
        errors: Counter[str] = Counter()
        started = time.perf_counter()

        async def one() -> None:
            sub = Subscriber(self.book)
            async with gate:
                try:
                    sub.client = await connect(host, port, path, sub.on_message)
                    sub.client.send_text(SUBSCRIBE)
                    await asyncio.wait([sub.acked, sub.client.closed], timeout=ACK_TIMEOUT_S,
                                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                    if not sub.acked.done():
                        closed = sub.client.closed.done()
                        raise ConnectionError("closed before the ack") if closed else TimeoutError()
                except (HandshakeFailed, OSError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    if sub.client is not None:
                        sub.client.close()
                    return
            members.append(sub)

        await asyncio.gather(*(one() for _ in range(n)))
        return {"connected": n - sum(errors.values()), "errors": dict(errors),
                "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip

    def status(self) -> dict[str, Any]:
        """Per group: connections open, closed (with codes) and heartbeats seen."""
        report = {}
        for group, members in self.groups.items():
            codes = Counter(str(s.client.close_code) for s in members
                            if not s.is_open and s.client is not None)  # fmt: skip
            report[group] = {
                "subscribed": len(members),
                "open": sum(s.is_open for s in members),
                "closed": len(members) - sum(s.is_open for s in members),
                "close_codes": dict(codes),
                "heartbeats": sum(s.heartbeats for s in members),
                "with_heartbeat": sum(s.heartbeats > 0 for s in members),
                "out_of_order": sum(s.position.out_of_order for s in members),
            }
        return report

    def collect(self) -> dict[str, Any]:
        """The step tallies so far (then forgotten), the groups' status, odd frames."""
        steps = {step: tally.to_wire() for step, tally in self.book.steps.items()}
        self.book.steps = {}
        return {"steps": steps, "groups": self.status(), "unknown": dict(self.book.unknown)}

    async def disconnect(self, group: str) -> dict[str, Any]:
        """Close a group's connections and wait (bounded) for them to go."""
        members = self.groups.pop(group, [])
        for sub in members:
            if sub.client is not None:
                sub.client.close()
        waits = [sub.client.closed for sub in members if sub.client is not None]
        if waits:
            await asyncio.wait(waits, timeout=10.0)
        return {"closed": len(members)}


def client_main(conn: Connection) -> None:
    """Serve the bench's commands until `stop` (a spawned process's entry point)."""
    raise_open_files()
    uvloop.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    client = LoadClient()
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    conn.send({"ready": True})
    while True:
        name, *args = await commands.get()
        if name == "stop":
            loop.remove_reader(conn.fileno())
            for group in list(client.groups):
                await client.disconnect(group)
            conn.send({"stopped": True})
            return
        if name == "connect":
            conn.send(await client.connect(*args))
        elif name == "counts":
            step = client.book.steps.get(args[0])
            conn.send({"step": 0 if step is None else step.received,
                       "total": client.book.received_total})  # fmt: skip
        elif name == "collect":
            conn.send(client.collect())
        elif name == "status":
            conn.send(client.status())
        elif name == "disconnect":
            conn.send(await client.disconnect(*args))
        else:
            conn.send({"error": f"unknown command {name!r}"})
