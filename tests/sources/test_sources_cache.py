from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from a1rt.sources import CachedResponse, MemoryCache, RedisCache, cache_key
from a1rt.sources.cache import kept_headers
from actors import ManualClock

ENTRY = CachedResponse(200, b'[{"id": 1}]', {"content-type": "application/json"})
REDIS_URL = "redis://127.0.0.1:6379/0"


def test_cache_key_sorts_params_and_leaves_out_the_key() -> None:
    key = cache_key(
        "get", "https://api.example/v4/sports/nba/odds",
        [("regions", "us"), ("apiKey", "s3cret"), ("markets", "h2h")],
    )  # fmt: skip
    assert key == "GET https://api.example/v4/sports/nba/odds?markets=h2h&regions=us"
    assert key == cache_key(
        "GET", "https://api.example/v4/sports/nba/odds",
        [("markets", "h2h"), ("api_key", "other"), ("regions", "us")],
    )  # fmt: skip


def test_cache_key_differs_by_params_and_url() -> None:
    assert cache_key("GET", "u", [("a", "1")]) != cache_key("GET", "u", [("a", "2")])
    assert cache_key("GET", "u", []) != cache_key("GET", "v", [])


def test_cache_keeps_only_the_headers_that_matter() -> None:
    kept = kept_headers(
        {"Content-Type": "application/json", "X-Requests-Remaining": "5", "Set-Cookie": "x=1"}
    )
    assert kept == {"content-type": "application/json", "x-requests-remaining": "5"}


@pytest.mark.anyio
async def test_cache_memory_entry_expires_after_its_ttl() -> None:
    clock = ManualClock()
    cache = MemoryCache(clock)
    await cache.set("k", ENTRY, ttl=10.0)
    clock.advance(9.9)
    assert await cache.get("k") == ENTRY
    clock.advance(0.1)
    assert await cache.get("k") is None
    assert len(cache) == 0


@pytest.mark.anyio
async def test_cache_memory_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(ManualClock(), max_entries=2)
    await cache.set("a", ENTRY, ttl=60.0)
    await cache.set("b", ENTRY, ttl=60.0)
    assert await cache.get("a") is not None  # "a" is now the most recently used
    await cache.set("c", ENTRY, ttl=60.0)
    assert len(cache) == 2
    assert await cache.get("b") is None
    assert await cache.get("a") is not None
    assert await cache.get("c") is not None


@pytest.mark.anyio
async def test_cache_memory_zero_ttl_stores_nothing() -> None:
    cache = MemoryCache(ManualClock())
    await cache.set("k", ENTRY, ttl=0.0)
    assert await cache.get("k") is None


@pytest.fixture
async def redis_client(anyio_backend: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)
    try:
        with anyio.fail_after(2):
            await client.ping()
    except (RedisError, OSError, TimeoutError):
        await client.aclose()
        pytest.skip(f"no Redis answering at {REDIS_URL}")
    yield client
    await client.aclose()


@pytest.mark.anyio
async def test_cache_redis_round_trip_and_expiry(redis_client: Redis) -> None:
    prefix = f"a1rt:test:{uuid.uuid4().hex}:"
    cache = RedisCache(redis_client, prefix=prefix)
    await cache.set("k", ENTRY, ttl=0.3)
    assert await cache.get("k") == ENTRY
    remaining_ms = await redis_client.pttl(prefix + "k")
    assert 0 < remaining_ms <= 300
    with anyio.fail_after(3):
        while await cache.get("k") is not None:
            await anyio.sleep(0.05)
    await redis_client.delete(prefix + "k")


@pytest.mark.anyio
async def test_cache_redis_garbage_value_is_a_miss(redis_client: Redis) -> None:
    prefix = f"a1rt:test:{uuid.uuid4().hex}:"
    await redis_client.set(prefix + "k", b"\xc1 not msgpack", px=5000)
    assert await RedisCache(redis_client, prefix=prefix).get("k") is None
    await redis_client.delete(prefix + "k")


@pytest.mark.anyio
async def test_cache_redis_down_is_a_miss_not_an_error(anyio_backend: str) -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    cache = RedisCache(client)
    with anyio.fail_after(5):
        await cache.set("k", ENTRY, ttl=5.0)
        assert await cache.get("k") is None
    await client.aclose()
