"""Cluster fan-out: the leader appends every publication to a Redis Stream per channel.

An entry carries the channel's cluster-wide position and the message: `e` (epoch), `s` (seq),
`k` (the state key, msgpack), `t` (ts, ms) and `d` (the data, msgpack). Positions live in Redis
beside the streams (a hash per channel: `epoch`, `seq`), and the append script assigns them, so a
new leader continues the same epoch and seq where its predecessor stopped, and every replica's
hub, fed from the streams, shows the same positions. The script first checks that the lease still
holds this leader's value: a deposed leader's append is refused whole, never half-applied.

A fresh Redis (or one that lost its data) starts a new epoch per channel: positions from the old
one are never trusted.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import msgspec
from redis.asyncio import Redis

from .channel import Publication, new_epoch, now_ms
from .lease import PREFIX, Lease

STREAM_MAXLEN = 10_000  # entries per channel stream, approximately (`XADD MAXLEN ~`)

_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
local out = {}
local n = (#KEYS - 1) / 2
for i = 1, n do
  local stream, meta = KEYS[2 * i], KEYS[2 * i + 1]
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = ARGV[3] .. i
    redis.call('HSET', meta, 'epoch', epoch)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local base = 3 + 3 * (i - 1)
  redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, 's', seq,
             'k', ARGV[base + 1], 't', ARGV[base + 2], 'd', ARGV[base + 3])
  out[i] = {epoch, seq}
end
return out
"""

_encode = msgspec.msgpack.Encoder()
_decode = msgspec.msgpack.Decoder()

Entry = tuple[str, Hashable | None, Any]  # channel, key, data (builtins)


class NotLeader(Exception):
    """Raised by `Fanout.append` when this replica does not hold the lease (or lost it)."""


def stream_key(channel: str) -> str:
    """The Redis Stream of a hub channel."""
    return f"{PREFIX}stream:{channel}"


def meta_key(channel: str) -> str:
    """The hash holding a channel's cluster-wide epoch and last seq."""
    return f"{PREFIX}position:{channel}"


async def cluster_position(redis: Redis, channel: str) -> tuple[str, int]:
    """A channel's cluster-wide epoch (created here if it has none yet) and last seq."""
    key = meta_key(channel)
    await redis.hsetnx(key, "epoch", new_epoch() + "-0")
    found: Any = await redis.hmget(key, ["epoch", "seq"])
    epoch, seq = found
    return _text(epoch), int(seq or 0)


def encode_entry(key: Hashable | None, ts: int, data: Any) -> tuple[bytes, bytes, bytes]:
    """The `k`, `t` and `d` fields of a stream entry."""
    return _encode.encode(key), str(ts).encode(), _encode.encode(data)


def decode_entry(channel: str, fields: dict[bytes, bytes]) -> Publication:
    """A stream entry as the publication it was appended as."""
    key = _decode.decode(fields[b"k"])
    return Publication(
        channel, fields[b"e"].decode(), int(fields[b"s"]), int(fields[b"t"]),
        _decode.decode(fields[b"d"]), _as_key(key),
    )  # fmt: skip


def _as_key(key: Any) -> Hashable | None:
    """msgpack gives a tuple key back as a list; make it hashable (and equal) again."""
    if isinstance(key, list):
        return tuple(_as_key(k) for k in key)
    return key  # type: ignore[no-any-return]


class Fanout:
    """The leader's fenced append of publications to the channel streams."""

    def __init__(self, redis: Redis, lease: Lease, *, maxlen: int = STREAM_MAXLEN) -> None:
        self.redis = redis
        self.lease = lease
        self.maxlen = maxlen
        self._append = redis.register_script(_APPEND)

    async def append(self, entries: Sequence[Entry]) -> list[tuple[str, int]]:
        """Append `entries` in one atomic script; their (epoch, seq). NotLeader if the lease
        is not (or no longer) this replica's; RedisError if Redis cannot be reached."""
        value = self.lease.value
        if value is None or not self.lease.held():
            raise NotLeader("this replica does not hold the leader lease")
        keys: list[str] = [self.lease.key]
        args: list[Any] = [value, self.maxlen, new_epoch() + "-"]
        ts = now_ms()
        for channel, key, data in entries:
            keys += [stream_key(channel), meta_key(channel)]
            args += encode_entry(key, ts, data)
        result = await self._append(keys=keys, args=args)
        if result is None:
            self.lease.forget()  # Redis says someone else holds it: stop acting as leader
            raise NotLeader("the leader lease is held by another replica")
        return [(_text(epoch), int(seq)) for epoch, seq in result]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
