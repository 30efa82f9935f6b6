"""`GET /api/v2/stream`: the websocket stream of the hub's channels, plus predictions on demand.

Connect (`?encoding=msgpack` for binary msgpack frames instead of JSON text; `?token=` to
authenticate at connect), then send `{"op": ...}` frames:

- `auth{token}` → `ack{id, channels: {}, scope}`; required within `auth_timeout` (else 4001);
- `subscribe{id, channels, resume?: {channel: {epoch, seq}}}` → `ack{id, channels: {name:
  {epoch, seq, recovered}}}`, then per channel a `snapshot{ch, epoch, seq, data}` (state
  channels), or, when the resume position is still covered, the missed `update`s
  (`recovered: true`); then live `update{ch, epoch, seq, ts, data, con?}`;
- `unsubscribe{id, channels}` → `ack{id, channels: {}, unsubscribed: [...]}`, after which no
  frame of those channels follows;
- `ping{id}` → `pong{id}`; `predict{id, ...the REST body}` → `result{id, data}` (data is what
  `POST /api/v2/predict` answers), or `error{id, code, message, temporary, status}`.

Idle connections get `heartbeat{ts}`. A bad frame (not JSON/msgpack, not an object, unknown op,
unknown channel, bad resume, too large, too many channels, over the message rate) gets
`error{id?, code, message, temporary}` and the connection stays usable; a persistent excess
over the rate closes it with 4029. Close codes: see `stream_protocol`.

Every outbound frame goes through the connection's hub subscriber, one queue in order: an ack
always precedes its channels' data, and a slow client is conflated or closed by the hub without
ever holding up the publisher or another client. Under `a1rt serve` (`frame_writer`), while that
queue is empty and the client keeps up, the hub writes each update's shared frame straight to
the connection instead; anything queued, or a client backing up, puts the queue back in charge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskGroup
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from ..logs import get_logger
from ..pipeline import Runtime
from ..pipeline.channel import Position, Publication
from ..pipeline.hub import UnknownChannel
from ..pipeline.subscriber import Control, Snapshot, Subscriber, SubscriberClosed, Update
from .auth import authorize
from .frame_writer import FrameWriter, frame_writer
from .predict import render, score, to_request
from .predict_body import PredictBody, decode
from .problems import Problem
from .stream_protocol import (
    AUTH_TIMEOUT,
    BAD_REQUEST,
    ENCODINGS,
    INVALID_TOKEN,
    TOO_MANY_REQUESTS,
    Auth,
    Encoding,
    KeyStore,
    Ping,
    RequestId,
    Scope,
    StreamLimits,
    Subscribe,
    TokenBucket,
    Unsubscribe,
    allows,
    authorise,
)

log = get_logger(__name__)
_PROBLEM_CODES = {400: "bad_request", 401: "invalid_token", 404: "not_found", 409: "conflict",
                  422: "invalid", 429: "rate_limited", 503: "unavailable"}  # fmt: skip


@websocket("/api/v2/stream", name="stream", guards=[authorize])  # PUBLIC: auth is per op
async def stream(socket: WebSocket[Any, Any, Any]) -> None:
    """The realtime stream (see the module docstring for the protocol)."""
    state = socket.app.state
    limits = state.get("stream_limits") or StreamLimits()
    await Connection(socket, state.runtime, limits, state.get("api_keys")).run()


class Connection:
    """One websocket client: a reader of its frames and a writer of its subscriber's queue."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        runtime: Runtime,
        limits: StreamLimits,
        keys: KeyStore | None = None,
    ) -> None:
        self.socket = socket
        self.runtime = runtime
        self.limits = limits
        self.keys = keys
        self.scope: Scope | None = None
        self._unwatch: Callable[[], None] | None = None
        self.token: str | None = None  # auth: predict ops draw on this key's rate limit
        self.encoding = Encoding("json")
        self.sub: Subscriber = runtime.hub.subscriber(
            max_items=limits.queue_items, max_bytes=limits.queue_bytes
        )
        self.sub.on_close(self._abort_send)
        self._rate = TokenBucket(limits.rate, limits.burst)
        self._strikes = TokenBucket(1.0, limits.strikes)
        self._send_scope: anyio.CancelScope | None = None
        self._tg: TaskGroup | None = None
        self._inflight = 0
        self._write_frame: FrameWriter | None = None  # the direct path, when the server has one
        self._sending = False  # an ASGI send is under way: the direct path must wait its turn
        self._last_sent = time.monotonic()  # of any frame: heartbeats fill silences only

    async def run(self) -> None:
        try:
            await self.socket.accept()
            wanted = self.socket.query_params.get("encoding", "json")
            if wanted == "msgpack":
                self.encoding = Encoding("msgpack")
            elif wanted != "json":
                self.sub.close(BAD_REQUEST, f"encoding: expected one of {', '.join(ENCODINGS)}",
                               drain=True)  # fmt: skip
            self._write_frame = frame_writer(self.socket.scope)
            if self._write_frame is not None:
                self.sub.direct = self._direct
            token = self.socket.query_params.get("token")
            if token is not None:
                self._authenticate(token, None, reply=False)
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._write, tg.cancel_scope)
                if self.scope is None:
                    tg.start_soon(self._auth_deadline)
                await self._read()
                tg.cancel_scope.cancel()
        finally:
            if self._unwatch is not None:
                self._unwatch()
            self.sub.close(1000, "connection ended", drain=True)

    # --- writing -------------------------------------------------------------------------

    async def _write(self, done: anyio.CancelScope) -> None:
        """Send what the subscriber queues, a heartbeat when it is idle, then its close. One
        cancel scope for the writer's life (not one per frame: they cost ~10 µs each at
        fan-out rates) lets a closing subscriber abort a send the client is not reading."""
        closed: SubscriberClosed | None = None
        with anyio.CancelScope() as self._send_scope:
            try:
                while True:
                    item = self.sub.get_nowait()  # the common case under load: no wait
                    if item is None:
                        silent = time.monotonic() - self._last_sent
                        if silent < self.limits.heartbeat:
                            with anyio.move_on_after(self.limits.heartbeat - silent):
                                item = await self.sub.get()
                            if item is None:
                                continue  # direct writes may have broken the silence
                    frame = self.encoding.heartbeat() if item is None else self._frame(item)
                    self._sending = True
                    try:
                        await self.socket.send_data(
                            frame, "binary" if self.encoding.binary else "text"
                        )
                    finally:
                        self._sending = False
                    self._last_sent = time.monotonic()
            except SubscriberClosed as exc:
                closed = exc
            except (WebSocketDisconnect, OSError):  # the client went away mid-send
                pass
        self._send_scope = None
        closed = closed or self.sub.closed  # an aborted send: the subscriber was closed
        try:
            if closed is not None:
                with anyio.move_on_after(self.limits.close_timeout):
                    try:
                        await self.socket.close(closed.code, closed.reason[:120])
                    except (WebSocketDisconnect, OSError):
                        pass
        finally:
            done.cancel()

    def _direct(self, pub: Publication) -> bool:
        """The subscriber's direct path: `pub` written now, unless an ASGI send is under way
        or the client is backed up (then the subscriber queues it)."""
        if self._sending or self._write_frame is None:
            return False
        if not self._write_frame(self.encoding.wire_update(pub)):
            return False
        self._last_sent = time.monotonic()
        return True

    def _frame(self, item: Control | Snapshot | Update) -> bytes:
        if isinstance(item, Update):
            return self.encoding.update(item)
        if isinstance(item, Snapshot):
            return self.encoding.snapshot(item)
        payload: bytes = item.payload
        return payload

    def _abort_send(self, closed: SubscriberClosed) -> None:
        """A closed subscriber must not wait behind a send the client is not reading."""
        if self._send_scope is not None:
            self._send_scope.cancel()

    def _control(self, payload: dict[str, Any]) -> None:
        encoded = self.encoding.encode(payload)
        self.sub.put_control(encoded, len(encoded))

    def _error(
        self, request: RequestId, code: str, message: str, *, temporary: bool = False,
        **extra: Any,
    ) -> None:  # fmt: skip
        frame: dict[str, Any] = {"op": "error"}
        if request is not None:
            frame["id"] = request
        frame.update(code=code, message=message, temporary=temporary, **extra)
        self._control(frame)

    # --- reading -------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                event = await self.socket.receive()
            except WebSocketDisconnect:
                return
            if event["type"] != "websocket.receive":
                return
            if self.sub.closed is not None:
                continue  # closing: the writer is sending the close frame
            data = event.get("text")
            try:
                self._on_frame((event.get("bytes") or b"") if data is None else data)
            except Exception as exc:  # a bug here must not end everyone's stream
                log.exception("stream frame failed", error=repr(exc))
                self._error(None, "internal", "the server failed on this frame", temporary=True)

    async def _auth_deadline(self) -> None:
        await anyio.sleep(self.limits.auth_timeout)
        if self.scope is None:
            self.sub.close(AUTH_TIMEOUT, f"no auth within {self.limits.auth_timeout:g}s",
                           drain=True)  # fmt: skip

    def _on_frame(self, data: str | bytes) -> None:
        if not self._rate.take():
            if not self._strikes.take():
                self.sub.close(TOO_MANY_REQUESTS, "too many messages", drain=True)
                return
            self._error(None, "rate_limited", f"over {self.limits.rate:g} messages per "
                        "second; slow down", temporary=True)  # fmt: skip
            return
        if len(data) > self.limits.max_frame:
            self._error(None, "frame_too_large", f"frames are limited to {self.limits.max_frame} "
                        "bytes")  # fmt: skip
            return
        try:
            message = self.encoding.decode(data)
        except msgspec.DecodeError as exc:
            self._error(None, "bad_frame", f"not {self.encoding.name.upper()}: {exc}")
            return
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            self._error(None, "bad_request", 'a frame is an object with an "op"')
            return
        request = message.get("id")
        if isinstance(request, bool) or not isinstance(request, int | str | None):
            self._error(None, "bad_request", "id: expected an integer or a string")
            return
        op = message["op"]
        handler = self._ops.get(op)
        if handler is None:
            known = ", ".join(sorted(self._ops))
            self._error(request, "unknown_op", f"unknown op {op!r} (expected one of {known})")
            return
        if self.scope is None and op not in ("auth", "ping"):
            self._error(request, "unauthenticated", "send auth{token} first")
            return
        handler(self, message, request)

    def _parse(self, message: dict[str, Any], kind: type[Any], request: RequestId) -> Any:
        fields = {k: v for k, v in message.items() if k != "op"}
        try:
            return msgspec.convert(fields, kind)
        except msgspec.ValidationError as exc:
            self._error(request, "bad_request", f"{message['op']}: {exc}")
            return None

    def _authenticate(self, token: str, request: RequestId, *, reply: bool = True) -> None:
        scope = authorise(token, self.keys)
        if scope is None:
            self.sub.close(INVALID_TOKEN, "invalid token", drain=True)
            return
        self.scope, self.token = scope, token
        if self.keys is not None and self._unwatch is None:
            self._unwatch = self.keys.watch(self._recheck_token)
        if reply:
            self._control({"op": "ack", "id": request, "channels": {}, "scope": scope})

    def _recheck_token(self) -> None:
        """The keys changed: a connection whose key was revoked ends (4501, don't retry)."""
        if self.token is not None and authorise(self.token, self.keys) is None:
            self.sub.close(INVALID_TOKEN, "the API key was revoked")

    # --- ops -----------------------------------------------------------------------------

    def _auth(self, message: dict[str, Any], request: RequestId) -> None:
        op: Auth | None = self._parse(message, Auth, request)
        if op is not None:
            self._authenticate(op.token, request)

    def _subscribe(self, message: dict[str, Any], request: RequestId) -> None:
        op: Subscribe | None = self._parse(message, Subscribe, request)
        if op is None:
            return
        if not allows(self.scope, "read"):
            self._error(request, "forbidden", "subscribing needs the read scope")
            return
        names = list(dict.fromkeys(op.channels))
        unknown = [n for n in names if n not in self.runtime.hub.channels]
        if unknown:
            self._error(request, "unknown_channel", str(UnknownChannel(unknown)))
            return
        if len(self.sub.channels | set(names)) > self.limits.max_channels:
            self._error(request, "too_many_channels",
                        f"at most {self.limits.max_channels} channels per connection")  # fmt: skip
            return
        resume: dict[str, Position] = {}
        for name, position in (op.resume or {}).items():
            if name not in names:
                self._error(request, "bad_resume", f"resume.{name}: not in channels")
                return
            try:
                resume[name] = msgspec.convert(position, Position)
            except msgspec.ValidationError as exc:
                self._error(request, "bad_resume", f"resume.{name}: {exc} (expected "
                            '{"epoch": "...", "seq": 0})')  # fmt: skip
                return

        def ack(grants: dict[str, Any]) -> bytes:
            channels = {n: msgspec.structs.asdict(g) for n, g in grants.items()}
            return self.encoding.encode({"op": "ack", "id": request, "channels": channels})

        self.runtime.hub.subscribe(self.sub, names, resume, header=ack)

    def _unsubscribe(self, message: dict[str, Any], request: RequestId) -> None:
        op: Unsubscribe | None = self._parse(message, Unsubscribe, request)
        if op is None:
            return
        try:
            had = self.runtime.hub.unsubscribe(self.sub, op.channels)
        except UnknownChannel as exc:
            self._error(request, "unknown_channel", str(exc))
            return
        self._control({"op": "ack", "id": request, "channels": {}, "unsubscribed": had})

    def _ping(self, message: dict[str, Any], request: RequestId) -> None:
        if self._parse(message, Ping, request) is not None:
            self._control({"op": "pong", "id": request})

    def _predict(self, message: dict[str, Any], request: RequestId) -> None:
        if not allows(self.scope, "predict"):
            self._error(request, "forbidden", "predicting needs the predict scope")
            return
        if self._inflight >= self.limits.max_inflight or self._tg is None:
            self._error(request, "busy", f"at most {self.limits.max_inflight} predictions at "
                        "once per connection", temporary=True)  # fmt: skip
            return
        body = {k: v for k, v in message.items() if k not in ("op", "id")}
        self._inflight += 1
        self._tg.start_soon(self._run_predict, request, body)

    async def _run_predict(self, request: RequestId, fields: dict[str, Any]) -> None:
        try:
            if (access := self.socket.app.state.get("access")) is not None:  # auth: 401/429
                await access.admit_token(self.token)
            body = decode(msgspec.json.encode(fields), PredictBody)
            scored = await score(self.runtime, to_request(self.runtime, body))
            data = await render(self.runtime, scored, body.explain)
        except Problem as exc:
            status = exc.status_code
            extra = exc.extra if isinstance(exc.extra, dict) else {}
            self._error(request, _PROBLEM_CODES.get(status, "predict_failed"), str(exc.detail),
                        temporary=status in (429, 503), status=status, **extra)  # fmt: skip
        except (TypeError, msgspec.EncodeError) as exc:
            self._error(request, "bad_request", f"predict: {exc}")
        except Exception as exc:
            log.exception("stream predict failed", error=repr(exc))
            self._error(request, "internal", "prediction failed", temporary=True)
        else:
            self._control({"op": "result", "id": request, "data": data})
        finally:
            self._inflight -= 1

    _ops = {
        "auth": _auth,
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "ping": _ping,
        "predict": _predict,
    }
