"""A lean HTTP/1.1 client for the load generator: one repeated request over keep-alive
connections, each an asyncio Protocol.

Why not aiohttp: its client cost the generator ~160 µs of CPU a request on this machine (request
and response objects, header multidicts, a task-safe connector) against ~42 µs here: closed loop
at 32 on `/health/live`, 0.87 cores for 5,300 answers/s against 0.38 cores for 9,000/s. Beside
a one-core server on a two-core machine that made the generator the bottleneck of the fastest
route (`generator_saturated`), so the ceiling the server is compared with was a floor. Pool size
follows the load: a closed loop holds one connection per worker, an open loop at most
``max_in_flight``.

The request is the same bytes every time, so it is encoded once; an answer is read as far as its
status line and Content-Length and counted once the whole body is in. It speaks only what the
bench needs: no redirects, no chunked bodies (a chunked answer is an error of its own kind, never
misread), one request at a time per connection.

Every failure is an error kind, as `loadgen.Send` counts them: ``timeout`` (no whole answer in
time; the connection is dropped, since a late answer would desynchronise it), ``connection``
(refused, reset, or closed before the answer), ``client:<what>`` (an answer this client cannot
read), and ``status_<code>`` for an unexpected status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


class BadAnswer(Exception):
    """An answer this client does not read (the message is the error kind's suffix)."""


def request_bytes(
    method: str, url: str, body: bytes | None, headers: tuple[tuple[str, str], ...]
) -> bytes:
    """The whole request, encoded once."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def parse_answer(buffer: bytearray) -> tuple[int, int, bool] | None:
    """The first whole answer in ``buffer``: (status, bytes it takes, whether the server closes
    the connection after it), or None while it is incomplete. Raises BadAnswer."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise BadAnswer("head_too_long")
        return None
    head = bytes(buffer[:end]).lower()
    if not head.startswith(b"http/1.1 ") or len(head) < 12 or not head[9:12].isdigit():
        raise BadAnswer("bad_status_line")
    status = int(head[9:12])
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        try:
            length = int(head[at + 17 : line_end if line_end > 0 else len(head)])
        except ValueError:
            raise BadAnswer("bad_length") from None
    elif status in (204, 304):
        length = 0
    else:
        raise BadAnswer("chunked" if b"\r\ntransfer-encoding:" in head else "no_length")
    taken = end + 4 + length
    if len(buffer) < taken:
        return None
    return status, taken, b"\r\nconnection: close" in head


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # an answer nobody asked for: this connection is out of step
            return
        try:
            parsed = parse_answer(self._buffer)
        except BadAnswer as exc:
            self.close()
            waiter.set_exception(exc)
            return
        if parsed is not None:
            status, taken, close = parsed
            del self._buffer[:taken]
            if close or self._buffer:
                self.close()
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed before the answer"))

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    async def request(self, payload: bytes, timeout_s: float) -> int:
        """Send ``payload``; the answer's status. Raises TimeoutError, ConnectionError or
        BadAnswer (after which the connection is closed)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._waiter = waiter
        assert self._transport is not None
        self._transport.write(payload)
        timer = loop.call_later(timeout_s, self._time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _time_out(self, waiter: asyncio.Future[int]) -> None:
        if not waiter.done():
            self.close()
            waiter.set_exception(TimeoutError())


class Pool:
    """Connections to one host, made as needed and reused while they stay open."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()

    async def _connect(self, timeout_s: float) -> Connection:
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(Connection, self._host, self._port), timeout_s
        )
        self._all.add(connection)
        return connection

    async def request(self, payload: bytes, timeout_s: float) -> int:
        """One request on an idle connection (or a new one); see `Connection.request`."""
        connection = None
        while self._idle and connection is None:  # one the server closed while idle: skip
            connection = self._idle.pop()
            connection = connection if connection.reusable else None
        if connection is None:
            connection = await self._connect(timeout_s)
        try:
            status = await connection.request(payload, timeout_s)
        except BaseException:
            connection.close()
            self._all.discard(connection)
            raise
        if connection.reusable:
            self._idle.append(connection)
        else:
            self._all.discard(connection)
        return status

    def close(self) -> None:
        """Close every connection."""
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._idle.clear()


def sender(
    pool: Pool, payload: bytes, expect_status: int, timeout_s: float
) -> Callable[[], Awaitable[str | None]]:
    """A `loadgen.Send`: None for the expected answer, else the error kind."""

    async def send() -> str | None:
        try:
            status = await pool.request(payload, timeout_s)
        except TimeoutError:
            return "timeout"
        except OSError:  # ConnectionError included: refused, reset, closed early
            return "connection"
        except BadAnswer as exc:
            return f"client:{exc}"
        return None if status == expect_status else f"status_{status}"

    return send
