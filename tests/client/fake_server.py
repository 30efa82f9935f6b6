"""A scripted stand-in for the stream endpoint (the `websockets` library), for behaviour a
real server does not produce on demand: skipped seqs, epoch changes, garbage, silence."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

WAIT = 10.0


@dataclass
class Peer:
    """One client connection as the fake sees it."""

    ws: ServerConnection
    number: int  # 1 for the first connection, 2 for the first reconnect, ...
    received: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, op: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"op": op, **fields}))

    async def raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(self, op: str) -> dict[str, Any]:
        """The client's next frame, which must be `op`."""
        with anyio.fail_after(WAIT):
            frame: dict[str, Any] = json.loads(await self.ws.recv())
        self.received.append(frame)
        assert frame["op"] == op, frame
        return frame

    async def ack(self, subscribe: dict[str, Any], epoch: str, seq: int, recovered: bool) -> None:
        grant = {"epoch": epoch, "seq": seq, "recovered": recovered}
        await self.send(
            "ack", id=subscribe["id"], channels={c: grant for c in subscribe["channels"]}
        )

    async def update(self, ch: str, epoch: str, seq: int, **extra: Any) -> None:
        await self.send("update", ch=ch, epoch=epoch, seq=seq, ts=0, data={"n": seq}, **extra)


Script = Callable[[Peer], Awaitable[None]]


@contextlib.asynccontextmanager
async def fake_stream(script: Script) -> AsyncIterator[tuple[str, list[Peer]]]:
    """Serve `script` for each connection; yields the base URL and the peers so far. A script
    that fails (not the client leaving mid-script) fails the test when the block ends."""
    peers: list[Peer] = []
    failures: list[BaseException] = []

    async def handler(ws: ServerConnection) -> None:
        peer = Peer(ws, len(peers) + 1)
        peers.append(peer)
        try:
            await script(peer)
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        except Exception as exc:
            failures.append(exc)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}", peers
    if failures:
        raise failures[0]
