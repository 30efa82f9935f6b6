"""`Stream`: the websocket stream as an async iterator of events that survives reconnects.

One background task owns the connection. Its lifecycle:

    IDLE -> CONNECTING -> LIVE -> WAITING -> CONNECTING -> ...      (-> CLOSED from any state)

CONNECTING opens the socket, authenticates (`auth{token}`) and subscribes every channel,
resuming from the last delivered position of each; the subscribe's ack makes it LIVE. A dropped
connection, a close code below 4500, a temporary error or a silent connection (no frame for 2.5
heartbeat intervals) waits a jittered backoff (WAITING) and reconnects. A close code of 4500 or
above, a refused handshake, or a permanent error answering the subscribe ends the stream: the
iterator raises it after the events already delivered.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import aiohttp
import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._answers import Answers
from ._backoff import Backoff
from ._events import Event, Gap, Position
from ._exceptions import ClientError, OpError, ProtocolError, StreamRefused, TransportError
from ._frames import (
    Ack,
    BadFrame,
    EncodingName,
    ErrorFrame,
    Frame,
    Heartbeat,
    Pong,
    RequestId,
    Result,
    SnapshotFrame,
    UpdateFrame,
    Wire,
)
from ._positions import Positions, checked_resume

log = logging.getLogger("a1rt.client")
SILENCE_FACTOR = 2.5  # heartbeat intervals without a frame before a connection counts as dead
MAX_FRAME = 64 << 20  # bytes: a snapshot of a busy state channel can run to megabytes
_AUTH = "auth"
_REFUSED_STATUSES = (401, 403, 404)


class StreamState(enum.Enum):
    """Where a stream's connection is in its lifecycle."""

    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    WAITING = "waiting"
    CLOSED = "closed"


_MOVES = {
    StreamState.IDLE: {StreamState.CONNECTING, StreamState.CLOSED},
    StreamState.CONNECTING: {StreamState.LIVE, StreamState.WAITING, StreamState.CLOSED},
    StreamState.LIVE: {StreamState.WAITING, StreamState.CLOSED},
    StreamState.WAITING: {StreamState.CONNECTING, StreamState.CLOSED},
    StreamState.CLOSED: set(),
}


class _Lost(Exception):
    """The connection ended in a way that reconnecting (and resuming) can repair."""


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: ClientError) -> None:
        self.error = error


class Stream:
    """Events of some channels, across reconnects (see the module docstring). Made by
    `Client.stream`; use it as `async with client.stream([...]) as stream:`."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        channels: Iterable[str],
        *,
        api_key: str | None = None,
        encoding: EncodingName = "json",
        resume: Mapping[str, Position] | None = None,
        heartbeat: float = 15.0,
        timeout: float = 10.0,
        backoff: Backoff | None = None,
        buffer: int = 1000,
    ) -> None:
        if isinstance(channels, str):
            raise TypeError("channels: expected a list of channel names, got one string")
        names = list(dict.fromkeys(channels))
        if not names:
            raise ValueError("channels: subscribe at least one channel")
        if encoding not in ("json", "msgpack"):
            raise ValueError(f"encoding: expected 'json' or 'msgpack', got {encoding!r}")
        self._session = session
        self._url = f"{url}?encoding=msgpack" if encoding == "msgpack" else url
        self._api_key = api_key
        self._wire = Wire(encoding)
        resume = checked_resume(resume, names)
        self._positions = Positions(names, resume)  # what the connection has received
        self._delivered: dict[str, Position] = dict(resume)  # what the caller has been given
        self._silence = SILENCE_FACTOR * heartbeat
        self._timeout = timeout
        self._backoff = backoff or Backoff()
        self._buffer = buffer  # the event streams open on entry: unclosed ones warn
        self._send, self._receive = _closed_streams()
        self._answers = Answers()
        self._ids = itertools.count(1)
        self._subscribes: dict[RequestId, list[str]] = {}
        self._opening: RequestId = None  # the subscribe whose ack makes this connection LIVE
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = False  # authenticated and subscribed: ops may be sent
        self._up = anyio.Event()
        self._stack: AsyncExitStack | None = None
        self.state = StreamState.IDLE
        self.reconnects = 0  # connection attempts after the first
        self.gaps = 0  # gaps detected (and resubscribed for)
        self.bad_frames = 0  # frames that could not be read (reported, then ignored)

    # --- the caller's side ---------------------------------------------------------------

    async def __aenter__(self) -> Stream:
        if self.state is not StreamState.IDLE:
            raise RuntimeError("a stream can be entered once")
        async with AsyncExitStack() as stack:
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(self._closed)
            stack.callback(tg.cancel_scope.cancel)  # runs first: leaving stops the connection
            self._send, self._receive = anyio.create_memory_object_stream[Event | _Failure](
                self._buffer
            )
            self._move(StreamState.CONNECTING)
            tg.start_soon(self._run)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        stack, self._stack = self._stack, None
        if stack is None:
            return None
        return await stack.__aexit__(kind, exc, tb)

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Event:
        if self.state is StreamState.IDLE:
            raise RuntimeError("iterate a stream inside `async with client.stream(...) as s:`")
        try:
            item = await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(item, _Failure):
            raise item.error
        if not isinstance(item, Gap):
            self._delivered[item.channel] = (item.epoch, item.seq)
        return item

    def positions(self) -> dict[str, Position]:
        """{channel: (epoch, seq)} of the last event this iterator has yielded per channel
        (not of those still buffered): keep it to resume later, even in another process,
        with `client.stream(..., resume=...)`."""
        return dict(self._delivered)

    async def predict(self, **body: Any) -> dict[str, Any]:
        """The `predict` op over this stream: what `POST /api/v2/predict` answers. OpError if
        the server answers an error, TransportError if no answer comes within the timeout or
        the connection drops first."""
        data = await self._ask("predict", body)
        if not isinstance(data, dict):
            raise ProtocolError(f"predict: expected an object, got {type(data).__name__}")
        return data

    async def ping(self) -> None:
        """A round trip to the server (`ping` → `pong`), within the timeout."""
        await self._ask("ping", {})

    # --- the connection's side -----------------------------------------------------------

    async def _run(self) -> None:
        try:
            while True:
                try:
                    await self._connection()
                except _Lost as lost:
                    log.info("stream connection lost: %s", lost)
                except ClientError as exc:
                    self._move(StreamState.CLOSED)
                    await self._send.send(_Failure(exc))
                    return
                except Exception:  # a bug must not end the caller's stream; log and go on
                    log.exception("stream connection failed")
                finally:
                    self._down(TransportError("the stream connection was lost"))
                self._move(StreamState.WAITING)
                await anyio.sleep(self._backoff.next())
                if self.state is StreamState.CLOSED:  # closed while the sleep was ending
                    return
                self.reconnects += 1
                self._move(StreamState.CONNECTING)
        finally:
            self._send.close()

    async def _connection(self) -> None:
        ws = await self._connect()
        async with ws:
            self._ws = ws
            if self._api_key is not None:
                await self._write("auth", id=_AUTH, token=self._api_key)
            self._opening = await self._subscribe(self._positions.names)
            self._ready = True
            self._up.set()
            await self._read(ws)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        try:
            with anyio.fail_after(self._timeout):
                return await self._session().ws_connect(
                    self._url, max_msg_size=MAX_FRAME, timeout=aiohttp.ClientWSTimeout(ws_close=5)
                )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in _REFUSED_STATUSES:
                raise StreamRefused(exc.message or "handshake refused", status=exc.status) from exc
            raise _Lost(f"handshake answered {exc.status} {exc.message}") from exc
        except TimeoutError as exc:  # before OSError, which it subclasses
            raise _Lost(f"no handshake within {self._timeout:g}s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _Lost(f"cannot connect: {exc!r}") from exc

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            with anyio.move_on_after(self._silence) as quiet:
                message = await ws.receive()
            if quiet.cancelled_caught:
                raise _Lost(f"no frame (not even a heartbeat) for {self._silence:g}s")
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                await self._on_data(message.data)
            elif message.type is aiohttp.WSMsgType.CLOSE:
                _closed_by_server(int(message.data), str(message.extra or ""))
            else:
                raise _Lost(f"connection dropped (close code {ws.close_code})")

    async def _on_data(self, data: str | bytes) -> None:
        try:
            frame = self._wire.decode(data)
        except BadFrame as exc:
            self.bad_frames += 1
            log.warning("unreadable stream frame ignored: %s", exc)
            return
        if frame is not None:  # None: an op this client does not know, skipped
            await self._on_frame(frame)

    async def _on_frame(self, frame: Frame) -> None:
        match frame:
            case UpdateFrame():
                verdict = self._positions.on_update(frame)
                if verdict is not None:
                    await self._send.send(verdict)
                if isinstance(verdict, Gap):
                    self.gaps += 1
                    await self._subscribe([frame.ch])
            case SnapshotFrame():
                snapshot = self._positions.on_snapshot(frame)
                if snapshot is not None:
                    await self._send.send(snapshot)
            case Ack():
                self._subscribes.pop(frame.id, None)
                for reset in self._positions.on_ack(frame):
                    await self._send.send(reset)
                if frame.id == self._opening and self.state is StreamState.CONNECTING:
                    self._move(StreamState.LIVE)
                    self._backoff.connected()
            case Pong() | Result():
                self._answers.settle(frame.id, frame.data if isinstance(frame, Result) else None)
            case ErrorFrame():
                self._on_error(frame)
            case Heartbeat():
                pass

    def _on_error(self, error: ErrorFrame) -> None:
        failure = OpError(error.code, error.message, temporary=error.temporary,
                          status=error.status)  # fmt: skip
        if self._answers.fail(error.id, failure):
            return
        if error.id == _AUTH or error.id in self._subscribes:
            if error.code == "unauthenticated" and self._api_key is None:
                raise OpError(error.code, "the server wants an API key: Client(url, api_key=...)")
            if error.temporary:
                raise _Lost(f"subscribing failed for now: {failure}")
            raise failure
        log.warning("stream error frame: %s", failure)

    async def _subscribe(self, names: list[str]) -> RequestId:
        request = next(self._ids)
        resume = self._positions.expect(names, request)
        self._subscribes[request] = names
        fields: dict[str, Any] = {"id": request, "channels": names}
        if resume:
            fields["resume"] = resume
        await self._write("subscribe", **fields)
        return request

    async def _write(self, op: str, **fields: Any) -> None:
        ws = self._ws
        if ws is None:
            raise TransportError("the stream is not connected")
        try:
            data = self._wire.encode(op, **fields)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"{op}: the request cannot be encoded: {exc}") from exc
        try:
            if self._wire.binary:
                await ws.send_bytes(data)
            else:
                await ws.send_str(data.decode())
        except (aiohttp.ClientError, OSError) as exc:
            raise _Lost(f"sending {op} failed: {exc!r}") from exc

    async def _ask(self, op: str, body: dict[str, Any]) -> Any:
        """Send `op` with a fresh id once connected; its answer's data."""
        request = next(self._ids)
        try:
            with anyio.fail_after(self._timeout):
                while not self._ready:
                    if self.state is StreamState.CLOSED:
                        raise TransportError("the stream is closed")
                    await self._up.wait()
                with self._answers.expect(request) as answer:
                    try:
                        await self._write(op, **body, id=request)
                    except _Lost as exc:
                        raise TransportError(str(exc)) from exc
                    return await answer.wait()
        except TimeoutError as exc:
            raise TransportError(f"{op}: no answer within {self._timeout:g}s") from exc

    def _down(self, error: TransportError) -> None:
        self._ws = None
        self._ready = False
        self._opening = None
        self._subscribes.clear()
        self._answers.fail_all(error)
        if self.state is StreamState.CLOSED:
            self._up.set()  # wake any `_ask` waiting for a connection, to see CLOSED
        elif self._up.is_set():
            self._up = anyio.Event()  # (an unset one still has waiters for the next connection)

    def _closed(self) -> None:
        self.state = StreamState.CLOSED
        self._down(TransportError("the stream is closed"))
        self._receive.close()

    def _move(self, to: StreamState) -> None:
        if to not in _MOVES[self.state]:
            raise RuntimeError(f"stream state {self.state.value} -> {to.value} is not allowed")
        self.state = to


def _closed_streams() -> tuple[
    MemoryObjectSendStream[Event | _Failure], MemoryObjectReceiveStream[Event | _Failure]
]:
    send, receive = anyio.create_memory_object_stream[Event | _Failure](0)
    send.close()
    receive.close()
    return send, receive


def _closed_by_server(code: int, reason: str) -> None:
    """Raise what a close frame means: StreamRefused for 4500+, else reconnect."""
    if 4500 <= code <= 4999:
        raise StreamRefused(reason or "no reason given", code=code)
    raise _Lost(f"closed by the server: {code} {reason}".rstrip())
