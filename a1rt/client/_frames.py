"""The stream's wire frames as the client reads and writes them (DESIGN.md's envelope
`{"op": ...}`), in JSON text or msgpack binary.

Reading is forgiving where the protocol asks for it and strict where correctness does: an
unknown `op` is skipped (servers may add frame types), while a known frame that does not fit
its schema is `BadFrame`, which the stream counts and reports instead of acting on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Seq = Annotated[int, msgspec.Meta(ge=0)]
RequestId = int | str | None
EncodingName = Literal["json", "msgpack"]


class BadFrame(Exception):
    """Raised for a frame that is not JSON/msgpack, or a known op that does not fit."""


class Grant(msgspec.Struct, frozen=True):
    epoch: str
    seq: Seq
    recovered: bool


class _Frame(msgspec.Struct, frozen=True, tag_field="op"):
    pass


class Ack(_Frame, tag="ack", frozen=True):
    id: RequestId = None
    channels: dict[str, Grant] = {}


class SnapshotFrame(_Frame, tag="snapshot", frozen=True):
    ch: str
    epoch: str
    seq: Seq
    data: list[Any]


class UpdateFrame(_Frame, tag="update", frozen=True):
    ch: str
    epoch: str
    seq: Seq
    ts: int
    data: Any
    con: bool = False


class Heartbeat(_Frame, tag="heartbeat", frozen=True):
    ts: int = 0


class Pong(_Frame, tag="pong", frozen=True):
    id: RequestId = None


class Result(_Frame, tag="result", frozen=True):
    id: RequestId
    data: Any


class ErrorFrame(_Frame, tag="error", frozen=True):
    code: str
    message: str
    id: RequestId = None
    temporary: bool = False
    status: int | None = None


Frame = Ack | SnapshotFrame | UpdateFrame | Heartbeat | Pong | Result | ErrorFrame
KNOWN_OPS = frozenset({"ack", "snapshot", "update", "heartbeat", "pong", "result", "error"})


class Wire:
    """One encoding's frame codec, built once per stream."""

    def __init__(self, name: EncodingName) -> None:
        self.name = name
        self.binary = name == "msgpack"
        self._encoder: msgspec.json.Encoder | msgspec.msgpack.Encoder = (
            msgspec.msgpack.Encoder() if self.binary else msgspec.json.Encoder()
        )
        self._json = msgspec.json.Decoder(Frame)
        self._msgpack = msgspec.msgpack.Decoder(Frame)

    def encode(self, op: str, **fields: Any) -> bytes:
        return self._encoder.encode({"op": op, **fields})

    def decode(self, data: str | bytes) -> Frame | None:
        """The frame in `data`; None for an op this client does not know; BadFrame if it is
        unreadable or a known op with the wrong shape."""
        binary = isinstance(data, bytes) and self.binary
        raw = data.encode() if isinstance(data, str) else data
        try:
            return self._msgpack.decode(raw) if binary else self._json.decode(raw)
        except msgspec.ValidationError as exc:
            op = _op_of(raw, binary)
            if isinstance(op, str) and op not in KNOWN_OPS:
                return None
            raise BadFrame(f"{op or 'frame'}: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise BadFrame(f"not {'msgpack' if binary else 'JSON'}: {exc}") from exc


def _op_of(data: bytes, binary: bool) -> object:
    try:
        raw = msgspec.msgpack.decode(data) if binary else msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    return raw.get("op") if isinstance(raw, dict) else None
