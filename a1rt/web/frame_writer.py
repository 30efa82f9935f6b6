"""The stream's direct path: uvicorn's websockets-sansio protocol, plus a frame writer.

Through ASGI, each subscriber's copy of a publication costs a writer task's wake-up, Litestar's
`send_data` (bytes decoded to str) and uvicorn's `send` (re-encoded, re-framed): about 30 µs a
frame, which capped fan-out at a sixth of a bare `websockets` broadcast. But a publication's
websocket frame is the same bytes for every subscriber (server frames are unmasked and
compression is off), so this protocol hands the app, as the ASGI scope extension
`FRAME_WRITER`, a function that writes an already-framed message straight to the transport:
the hub's fan-out then costs one `transport.write` per subscriber, as `websockets.broadcast`
does (or fewer: see corking below).

Frames written directly in one turn of the event loop are corked: each connection's frames
are joined and written once, as the turn ends (`loop.call_soon`). A publisher batch of several
messages then costs each subscriber one `send` system call, not one per message; profiled at
1,000 subscribers, that system call was three quarters of the server's time. Any ASGI send on
the connection writes what is corked first, so frames keep their order.

The writer refuses (returns False) unless the connection is open and its transport is not
paused (its buffer is under the high-water mark): the caller then queues the frame for the
ordinary ASGI send, which waits for the buffer to drain, so backpressure, conflation and
4008 behave exactly as before. The caller must not write directly while an ASGI send of its own
is under way, or frames could pass each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

FRAME_WRITER = "a1rt.frame_writer"  # the scope extension: Callable[[bytes], bool]
FrameWriter = Callable[[bytes], bool]


def ws_frame(payload: bytes, *, binary: bool) -> bytes:
    """`payload` as one whole, unmasked server frame (text, or binary)."""
    return Frame(Opcode.BINARY if binary else Opcode.TEXT, payload).serialize(mask=False)


def frame_writer(scope: Any) -> FrameWriter | None:
    """The connection's direct frame writer, if its server offers one."""
    extensions = scope.get("extensions") or {}
    writer: FrameWriter | None = extensions.get(FRAME_WRITER)
    return writer


class StreamProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol offering `FRAME_WRITER` to the app."""

    _corked: list[bytes] | None = None  # frames written directly this turn, not yet sent

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the app's task has not run yet: it will see it
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            extensions[FRAME_WRITER] = self.write_frame

    def _open(self) -> bool:
        """No close frame sent, the handshake's connection OPEN, the transport not closing."""
        return (
            not self.close_sent
            and self.conn.state is State.OPEN
            and not self.transport.is_closing()
        )

    def write_frame(self, frame: bytes) -> bool:
        """Write one framed message now, if the connection is open and not backed up."""
        if self.disconnected or not self.writable.is_set() or not self._open():
            return False
        if self._corked is None:
            self._corked = [frame]
            _flush_soon(self)
        else:
            self._corked.append(frame)
        return True

    def flush(self) -> None:
        """Send the frames corked this turn (dropped if the connection stopped being open)."""
        frames, self._corked = self._corked, None
        if frames and self._open():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    async def send(self, message: ASGISendEvent) -> None:
        self.flush()  # what was written directly goes first
        await super().send(message)


_dirty: dict[asyncio.AbstractEventLoop, list[StreamProtocol]] = {}


def _flush_soon(protocol: StreamProtocol) -> None:
    """Flush `protocol` when this turn of its loop ends (with every other corked one)."""
    dirty = _dirty.get(protocol.loop)
    if dirty is None:
        dirty = _dirty[protocol.loop] = []
        protocol.loop.call_soon(_flush_all, protocol.loop)
    dirty.append(protocol)


def _flush_all(loop: asyncio.AbstractEventLoop) -> None:
    for protocol in _dirty.pop(loop, ()):
        protocol.flush()
