"""The stream's direct path: uvicorn's websockets-sansio protocol, plus a frame writer.

Through ASGI, each subscriber's copy of a publication costs a writer task's wake-up, Litestar's
`send_data` (bytes decoded to str) and uvicorn's `send` (re-encoded, re-framed): about 30 µs a
frame, which capped fan-out at a sixth of a bare `websockets` broadcast. But a publication's
websocket frame is the same bytes for every subscriber (server frames are unmasked and
compression is off), so this protocol hands the app, as the ASGI scope extension
`FRAME_WRITER`, a function that writes an already-framed message straight to the transport:
the hub's fan-out then costs one `transport.write` per subscriber, as `websockets.broadcast`
does.

The writer refuses (returns False) unless the connection is open and its transport is not
paused (its buffer is under the high-water mark): the caller then queues the frame for the
ordinary ASGI send, which waits for the buffer to drain, so backpressure, conflation and
4008 behave exactly as before. The caller must not write directly while an ASGI send of its own
is under way, or frames could pass each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the app's task has not run yet: it will see it
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            extensions[FRAME_WRITER] = self.write_frame

    def write_frame(self, frame: bytes) -> bool:
        """Write one framed message now, if the connection is open and not backed up."""
        if (
            self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
