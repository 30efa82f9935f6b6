"""The pieces of the websocket stream's protocol: close codes, limits, the client's ops, the
auth hook, inbound rate limiting, and the wire encodings (JSON text, msgpack binary).

Close codes: 4000–4499 mean "reconnect (and resume)", 4500+ mean "don't, the same way".

====  =====================  ==================================================================
code  name                   meaning
====  =====================  ==================================================================
1012  (uvicorn)              the server is restarting: reconnect
4001  AUTH_TIMEOUT           no `auth` within the deadline: reconnect and authenticate promptly
4002  GOING_AWAY             this replica is stopping (hub closed): reconnect, maybe elsewhere
4008  SLOW                   the client did not read fast enough (event channel or own frames)
4011  INTERNAL_ERROR         the server failed: reconnect with backoff
4029  TOO_MANY_REQUESTS      persistently over the inbound message rate: reconnect after backoff
4500  BAD_REQUEST            the connection request is wrong (e.g. `?encoding=`): fix it first
4501  INVALID_TOKEN          the token was refused: get another one first
====  =====================  ==================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import msgspec

from ..pipeline.channel import Publication, now_ms
from ..pipeline.hub import GOING_AWAY
from ..pipeline.subscriber import SLOW, Snapshot, Update
from ..store.api_keys import SCOPES, Scope
from .frame_writer import ws_frame

AUTH_TIMEOUT = 4001
INTERNAL_ERROR = 4011
TOO_MANY_REQUESTS = 4029
BAD_REQUEST = 4500
INVALID_TOKEN = 4501
__all__ = [
    "AUTH_TIMEOUT",
    "BAD_REQUEST",
    "GOING_AWAY",
    "INTERNAL_ERROR",
    "INVALID_TOKEN",
    "SLOW",
    "TOO_MANY_REQUESTS",
    "Auth",
    "Encoding",
    "KeyStore",
    "Ping",
    "Scope",
    "StreamLimits",
    "Subscribe",
    "TokenBucket",
    "Unsubscribe",
    "allows",
    "authorise",
]

_RANK: dict[str, int] = {scope: rank for rank, scope in enumerate(SCOPES)}
RequestId = int | str | None


class StreamLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-connection limits (the app's `stream_limits` state overrides the defaults)."""

    auth_timeout: float = 10.0  # seconds from connect to a successful `auth`
    heartbeat: float = 15.0  # an idle connection gets a heartbeat this often
    max_frame: int = 64 * 1024  # bytes of one inbound frame
    max_channels: int = 32  # channels one connection may subscribe at once
    rate: float = 20.0  # inbound messages per second, sustained ...
    burst: int = 40  # ... and in a burst
    strikes: int = 20  # messages over the rate tolerated (one more per second) before 4029
    queue_items: int = 2000  # the outbound queue, in messages ...
    queue_bytes: int = 4 << 20  # ... and in bytes
    max_inflight: int = 4  # `predict` ops running at once on one connection
    close_timeout: float = 5.0  # seconds a close frame may wait behind a full socket


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; `take` spends one if there is one."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def wait(self) -> float:
        """Seconds until `take` next succeeds, as of its last call (0 if it would now)."""
        return max(0.0, (1.0 - self._tokens) / self.rate)


class KeyStore(Protocol):
    """What the API-key store offers the stream: the scope a token grants, if any, and word
    of changes (a connection whose key was revoked is closed)."""

    def scope_of(self, token: str) -> Scope | None: ...

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` whenever the accepted keys change; returns the unwatch."""
        ...


def authorise(token: str, keys: KeyStore | None = None) -> Scope | None:
    """The scope `token` grants, or None if it is refused. Without a key store (a server
    with no database: tests of serving alone) every token is an admin's."""
    if keys is None:
        return "admin"
    return keys.scope_of(token)


def allows(scope: Scope | None, needed: Scope) -> bool:
    """Whether `scope` covers `needed` (read < predict < admin)."""
    return scope is not None and _RANK[scope] >= _RANK[needed]


# --- client ops ----------------------------------------------------------------------------


class Auth(msgspec.Struct, frozen=True):
    token: str
    id: RequestId = None


class Subscribe(msgspec.Struct, frozen=True):
    channels: list[str]
    id: RequestId = None
    resume: dict[str, Any] | None = None  # checked channel by channel: bad_resume names it


class Unsubscribe(msgspec.Struct, frozen=True):
    channels: list[str]
    id: RequestId = None


class Ping(msgspec.Struct, frozen=True):
    id: RequestId = None


# --- wire encodings ------------------------------------------------------------------------


class Encoding:
    """One wire format: how frames are encoded, decoded and sent."""

    def __init__(self, name: Literal["json", "msgpack"]) -> None:
        self.name = name
        self.binary = name == "msgpack"
        self._wire = f"{name}/ws"  # Publication.frames key of the framed update
        self._encoder: msgspec.json.Encoder | msgspec.msgpack.Encoder = (
            msgspec.msgpack.Encoder() if self.binary else msgspec.json.Encoder()
        )
        self._json = msgspec.json.Decoder()
        self._msgpack = msgspec.msgpack.Decoder()

    def encode(self, payload: Any) -> bytes:
        return self._encoder.encode(payload)

    def decode(self, data: str | bytes) -> Any:
        """A frame's value: text frames are JSON; binary ones msgpack (or JSON on a JSON
        connection). msgspec.DecodeError if it is neither."""
        if isinstance(data, bytes) and self.binary:
            return self._msgpack.decode(data)
        return self._json.decode(data)

    def update(self, update: Update) -> bytes:
        """An update frame; the plain one is encoded once and shared by every subscriber."""
        pub = update.pub
        if not update.con:
            cached = pub.frames.get(self.name)
            if cached is not None:
                return cached
        frame: dict[str, Any] = {
            "op": "update", "ch": pub.channel, "epoch": pub.epoch, "seq": pub.seq, "ts": pub.ts,
            "data": pub.data if self.binary else msgspec.Raw(pub.raw),
        }  # fmt: skip
        if update.con:
            frame["con"] = True
            return self.encode(frame)
        encoded = pub.frames[self.name] = self.encode(frame)
        return encoded

    def wire_update(self, pub: Publication) -> bytes:
        """The plain update frame as websocket bytes (for `FRAME_WRITER`), framed once and
        shared by every subscriber."""
        framed = pub.frames.get(self._wire)
        if framed is None:
            framed = pub.frames[self._wire] = ws_frame(self.update(Update(pub)), binary=self.binary)
        return framed

    def snapshot(self, snap: Snapshot) -> bytes:
        data = [p.data if self.binary else msgspec.Raw(p.raw) for p in snap.items]
        return self.encode(
            {"op": "snapshot", "ch": snap.channel, "epoch": snap.epoch, "seq": snap.seq,
             "data": data}
        )  # fmt: skip

    def heartbeat(self) -> bytes:
        return self.encode({"op": "heartbeat", "ts": now_ms()})


ENCODINGS = ("json", "msgpack")
