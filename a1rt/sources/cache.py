"""A TTL cache of provider responses: in memory (bounded, LRU) or in Redis when configured.

Only fresh 200 answers with a usable JSON body are stored, together with the headers a caller
may need again. Keys are built from the method, the URL and the sorted parameters, never the key.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

from actors import Clock

from ..logs import get_logger

log = get_logger(__name__)

# The headers a cached answer keeps: content type, the provider's own time, quota figures.
KEPT_HEADERS = (
    "content-type",
    "date",
    "etag",
    "last-modified",
    "x-requests-remaining",
    "x-requests-used",
    "x-requests-last",
)
# Query parameters that carry credentials and so never reach a cache key.
SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token"})


class CachedResponse(msgspec.Struct, frozen=True):
    """A stored answer: status, raw JSON body and the kept headers (lower-case names)."""

    status: int
    body: bytes
    headers: dict[str, str]


class ResponseCache(Protocol):
    """Where responses are kept between calls."""

    async def get(self, key: str) -> CachedResponse | None: ...

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None: ...


def cache_key(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """`METHOD url?a=1&b=2` with parameters sorted and credentials left out."""
    kept = sorted((k, v) for k, v in params if k.lower() not in SECRET_PARAMS)
    query = "&".join(f"{k}={v}" for k, v in kept)
    return f"{method.upper()} {url}?{query}"


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The subset of `headers` a cached answer keeps, with lower-case names."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {name: lowered[name] for name in KEPT_HEADERS if name in lowered}


class MemoryCache:
    """An in-process cache of at most `max_entries`, evicting the least recently used."""

    def __init__(self, clock: Clock, *, max_entries: int = 512) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, CachedResponse]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> CachedResponse | None:
        """The live entry for `key`, marked most recently used; None if absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock.now() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None:
        """Keep `value` for `ttl` seconds, evicting the least recently used beyond the bound."""
        if ttl <= 0:
            return
        self._entries[key] = (self._clock.now() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


class RedisCache:
    """A cache shared by replicas: `SET key value PX ttl` in Redis, msgpack-encoded.

    Give it a client made with `decode_responses=False` (values are bytes). Redis trouble never
    fails a request: a read error is a miss, a write error is skipped; both are logged.
    """

    _encoder = msgspec.msgpack.Encoder()
    _decoder = msgspec.msgpack.Decoder(CachedResponse)

    def __init__(self, redis: Redis, *, prefix: str = "a1rt:sources:http:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def get(self, key: str) -> CachedResponse | None:
        """The entry for `key`, or None if absent, expired, unreadable or Redis is down."""
        try:
            raw = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            log.warning("response cache read failed", error=str(exc))
            return None
        if not isinstance(raw, bytes):
            return None
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError:
            return None

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None:
        """Store `value` for `ttl` seconds (rounded up to whole milliseconds)."""
        if ttl <= 0:
            return
        milliseconds = max(1, math.ceil(ttl * 1000))
        try:
            await self._redis.set(self._prefix + key, self._encoder.encode(value), px=milliseconds)
        except (RedisError, OSError) as exc:
            log.warning("response cache write failed", error=str(exc))
