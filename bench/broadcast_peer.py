"""The peer: a bare `websockets`-library broadcast server, what a team would write without a hub.

It speaks just enough of a1rt's protocol for the same load client: a `subscribe` frame is
answered with an `ack` carrying the channel's position, after which the connection gets every
`update` frame, the same JSON a1rt sends (`op, ch, epoch, seq, ts, data`, encoded by msgspec),
through `websockets.broadcast` (one encode, written to every socket, no backpressure). Same
event loop (uvloop), no compression, the library's default pings; no history, no conflation,
no auth, no per-connection queue: the floor a hub's features cost against.

`peer_main` is a spawned process's entry point, driven like the a1rt one over a pipe.
"""

from __future__ import annotations

import os
import secrets
import time
from multiprocessing.connection import Connection
from typing import Any

import anyio
import msgspec
from websockets.asyncio.server import ServerConnection, broadcast, serve

from .stream_publish import (
    CHANNEL,
    command_loop,
    listening_socket,
    publish_step,
    raise_open_files,
    settled_rss,
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class Broadcaster:
    """The peer's whole state: the subscribed connections and the channel's position."""

    def __init__(self) -> None:
        self.subscribers: set[ServerConnection] = set()
        self.epoch = secrets.token_urlsafe(6)
        self.seq = 0

    async def handler(self, ws: ServerConnection) -> None:
        """One connection: subscribe frames are acked; everything else is ignored."""
        try:
            async for message in ws:
                try:
                    request = _decode(message)
                except msgspec.DecodeError:
                    continue
                if isinstance(request, dict) and request.get("op") == "subscribe":
                    self._subscribe(ws, request.get("id"))
        finally:
            self.subscribers.discard(ws)

    def _subscribe(self, ws: ServerConnection, request: Any) -> None:
        position = {"epoch": self.epoch, "seq": self.seq, "recovered": False}
        ack = _encode({"op": "ack", "id": request, "channels": {CHANNEL: position}})
        broadcast([ws], ack, text=True)  # written at once: no update can slip in before it
        self.subscribers.add(ws)

    def offer(self, k: int, data: dict[str, Any]) -> None:
        """Send one update to every subscriber."""
        self.seq += 1
        frame = _encode({"op": "update", "ch": CHANNEL, "epoch": self.epoch, "seq": self.seq,
                         "ts": time.time_ns() // 1_000_000,
                         "data": msgspec.Raw(_encode(data))})  # fmt: skip
        broadcast(self.subscribers, frame, text=True)


def peer_main(conn: Connection) -> None:
    """Serve until told to stop (a spawned process's entry point)."""
    raise_open_files()
    anyio.run(_serve, conn, backend_options={"use_uvloop": True})


async def _serve(conn: Connection) -> None:
    peer = Broadcaster()
    sock = listening_socket()
    sock.listen(2048)  # uvicorn's default backlog, as a1rt has

    async def publish(step: int, rate: float, seconds: float) -> dict[str, Any]:
        return await publish_step(peer.offer, step, rate, seconds)

    async def rss() -> int:
        return await settled_rss()

    async def info() -> dict[str, Any]:
        return {"hub_subscribers": len(peer.subscribers)}

    async with serve(peer.handler, sock=sock, compression=None):
        conn.send({"port": sock.getsockname()[1], "pid": os.getpid(), "path": "/"})
        await command_loop(conn, {"publish": publish, "rss": rss, "info": info})
