"""The pollers A1RT_SOURCES asks for, each on its provider's client; one shared Redis cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from a1rt.config import load_settings
from a1rt.pipeline import Runtime
from a1rt.sources import MemoryCache, RedisCache

pytestmark = pytest.mark.anyio


async def test_runtime_builds_a_poller_per_source_in_priority_order(tmp_path: Path) -> None:
    settings = load_settings({}, models_dir=tmp_path, data_dir=tmp_path,
                             sources=("espn", "odds_api", "simulated"))  # fmt: skip
    runtime = Runtime(settings)
    assert [p.provider.name for p in runtime.pollers] == ["espn", "odds_api", "simulated"]
    assert runtime.board.order == ("espn", "odds_api", "simulated")
    clients = [p._client for p in runtime.pollers]
    assert clients[2] is None  # the simulator needs no HTTP
    assert [c.config.base_url for c in clients[:2] if c is not None] == [
        settings.espn_base_url, settings.odds_api_base_url,
    ]  # fmt: skip
    caches = [c.cache for c in clients[:2] if c is not None]
    assert all(isinstance(c, MemoryCache) for c in caches) and caches[0] is not caches[1]
    assert runtime.redis is None


async def test_runtime_with_redis_shares_one_response_cache(tmp_path: Path) -> None:
    settings = load_settings({}, models_dir=tmp_path, data_dir=tmp_path,
                             sources=("espn", "odds_api"),
                             redis_url="redis://127.0.0.1:6379/0")  # fmt: skip
    runtime = Runtime(settings)
    try:
        caches = [p._client.cache for p in runtime.pollers if p._client is not None]
        assert len(caches) == 2 and all(isinstance(c, RedisCache) for c in caches)
        assert caches[0] is caches[1]
    finally:
        assert runtime.redis is not None
        await runtime.redis.aclose()
