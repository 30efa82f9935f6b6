"""Scale-out tests run against a real Redis (DBs 3–6 are ours); skipped when none answers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import redis
from redis.asyncio import Redis

REDIS_URL = os.environ.get("A1RT_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
PROCESS_REDIS_URL = os.environ.get("A1RT_TEST_REDIS_PROCESS_URL", "redis://127.0.0.1:6379/4")


def redis_or_skip(url: str) -> None:
    """Skip the test, saying why, unless Redis answers at `url`; empty its DB if it does."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis answers at {url}: {exc}")
    client.flushdb()
    client.close()


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    redis_or_skip(REDIS_URL)
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()
