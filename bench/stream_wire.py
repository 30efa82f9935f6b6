"""A lean websocket client transport for the load client: RFC 6455 over an asyncio Protocol.

Why not the `websockets` client: a thousand of them in one Python process spend most of their
time in per-frame machinery (a parser generator, a queue and a task switch per message), so the
client would saturate long before either server does and both would measure the same ceiling.
This one parses the frames of a whole read at once and hands each complete message to a
callback with the read's receipt time; it speaks only what the bench needs (client handshake,
unfragmented or fragmented text/binary messages, ping → pong, close), and it is the same code
for a1rt and for the peer.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
import time
from collections.abc import Callable
from typing import cast

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
MAX_HEADER = 16 * 1024
HANDSHAKE_TIMEOUT_S = 30.0

OnMessage = Callable[[bytes, int], None]  # a whole message and its receipt time (time_ns)


class WireState(enum.Enum):
    """A connection's lifecycle: handshake, open, then closed (for good)."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class HandshakeFailed(ConnectionError):
    """Raised (into `opened`) when the server does not answer 101 with the right accept key."""


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # noqa: S324


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked frame from the client (FIN set)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return header + mask + _xor(payload, mask)


def _xor(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


class WireClient(asyncio.Protocol):
    """One websocket connection; `opened` resolves after the handshake, `closed` at the end."""

    def __init__(self, host: str, port: int, path: str, on_message: OnMessage) -> None:
        self.host, self.port, self.path = host, port, path
        self.on_message = on_message
        self.state = WireState.CONNECTING
        self.close_code: int | None = None  # from the server's close frame, if it sent one
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._key = base64.b64encode(os.urandom(16)).decode()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._fragments: list[bytes] = []

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self._key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        received = time.time_ns()
        self._buffer += data
        if self.state is WireState.CONNECTING and not self._handshake():
            return
        self._frames(received)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = WireState.CLOSED
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    # --- sending -------------------------------------------------------------------------

    def send_text(self, payload: bytes) -> None:
        """Send one text message (a no-op once closed)."""
        if self.state is WireState.OPEN and self._transport is not None:
            self._transport.write(client_frame(TEXT, payload))

    def close(self) -> None:
        """Start the closing handshake; the transport goes when the server answers (or now)."""
        if self.state is WireState.OPEN and self._transport is not None:
            self._transport.write(client_frame(CLOSE, (1000).to_bytes(2, "big")))
            self.state = WireState.CLOSED
            self._transport.close()
        elif self._transport is not None:
            self._transport.close()

    # --- parsing -------------------------------------------------------------------------

    def _handshake(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEADER:
                self._fail("handshake response too large")
            return False
        head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        if not head[0].startswith("HTTP/1.1 101"):
            self._fail(f"handshake answered {head[0]!r}")
            return False
        if headers.get("sec-websocket-accept") != accept_key(self._key):
            self._fail("handshake answered a wrong Sec-WebSocket-Accept")
            return False
        self.state = WireState.OPEN
        self.opened.set_result(None)
        return True

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(why))
        if self._transport is not None:
            self._transport.close()

    def _frames(self, received: int) -> None:
        buffer, pos, size = self._buffer, 0, len(self._buffer)
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, header = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, header = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            masked = second & 0x80
            start = pos + header + (4 if masked else 0)
            if size - start < length:
                break
            payload = bytes(buffer[start : start + length])
            if masked:  # servers do not mask, but a frame that is must still be read right
                payload = _xor(payload, bytes(buffer[pos + header : start]))
            pos = start + length
            self._frame(first, payload, received)
            if self.state is WireState.CLOSED:
                break
        del buffer[:pos]

    def _frame(self, first: int, payload: bytes, received: int) -> None:
        opcode, fin = first & 0x0F, first & 0x80
        if opcode in (TEXT, BINARY, CONTINUATION):
            if not fin:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join((*self._fragments, payload))
                self._fragments.clear()
            self.on_message(payload, received)
        elif opcode == PING and self._transport is not None:
            self._transport.write(client_frame(PONG, payload))
        elif opcode == CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if self._transport is not None:
                self._transport.write(client_frame(CLOSE, payload[:2]))
                self._transport.close()
            self.state = WireState.CLOSED


async def connect(host: str, port: int, path: str, on_message: OnMessage) -> WireClient:
    """Open a connection and finish its handshake (HandshakeFailed or OSError if it fails)."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WireClient(host, port, path, on_message), host, port
    )
    try:
        await asyncio.wait_for(client.opened, HANDSHAKE_TIMEOUT_S)
    except TimeoutError:
        client.close()
        raise
    return client
