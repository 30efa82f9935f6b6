"""API keys over real HTTP and the websocket, with the real database: every route's scope for
no key, each scope and a revoked key; a CLI revocation reaching a running app; per-key rate
limits (in process, and across two replicas through Redis); Redis failing open; CORS; 413."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis
from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from a1rt.config import load_settings
from a1rt.pipeline import Runtime
from a1rt.store import NewKey, Scope, create_key, migrate, revoke_key
from a1rt.web import create_app
from a1rt.web.auth import ROUTE_SCOPES, WEBSOCKET
from a1rt.web.rate_limit import KeyRateLimiter

from ..store.test_store_database import fresh_schema
from .test_stream import Served, close_code, free_port, recv_op, send
from .test_stream import serving as stream_serving

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
FEATURES = {f"x{i}": 0.1 * i for i in range(6)}
REDIS_URL = "redis://127.0.0.1:6379/1"  # this engineer's Redis database (1 and 2 are ours)
KINDS = ("none", "read", "predict", "admin", "revoked")
RANK = {"read": 0, "predict": 1, "admin": 2}


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


@pytest.fixture
def models(trained_binary: Any, copy_models: Callable[[Any], Path]) -> Path:
    return copy_models(trained_binary)


class App:
    """A real uvicorn server around `create_app`, with the database's API keys enforced."""

    def __init__(self, served: Served) -> None:
        self.runtime = served.runtime
        self.url = str(served.http.base_url).rstrip("/")
        self.ws_url = served.url
        self.state = served.state


@contextlib.asynccontextmanager
async def serving(models: Path, data_dir: Path, conninfo: str | None, **settings: Any
                  ) -> AsyncIterator[App]:  # fmt: skip
    async with stream_serving(models, data_dir, conninfo=conninfo, settings=settings) as served:
        yield App(served)


async def keys_by_kind(conninfo: str) -> dict[str, str | None]:
    """One key per scope, one revoked (it was an admin's) and none."""
    made: dict[str, NewKey] = {}
    for scope in ("read", "predict", "admin"):
        made[scope] = await create_key(conninfo, name=scope, scope=scope)
    revoked = await create_key(conninfo, name="revoked", scope="admin")
    await revoke_key(conninfo, revoked.key_id)
    return {"none": None, "revoked": revoked.key} | {k: v.key for k, v in made.items()}


def auth(key: str | None) -> dict[str, str]:
    return {} if key is None else {"authorization": f"Bearer {key}"}


def concrete(path: str, version: str) -> str:
    """A route template with its parameters filled in (the test model, its version)."""
    values = {"model_name": "test_h2h", "name": "test_h2h", "version": version,
              "path": "openapi.yaml"}  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_auth_route_table_names_every_route_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(Runtime(load_settings({}, data_dir=tmp_path), live=False))
    routes = set()
    for route in app.routes:
        path = re.sub(r":\w+\}", "}", route.path)  # as the request's path_template has it
        if isinstance(route, WebSocketRoute):
            routes.add((WEBSOCKET, path))
        elif isinstance(route, HTTPRoute):
            routes.update((m, path) for m in route.methods if m != "OPTIONS")
        elif isinstance(route, ASGIRoute):  # a lean route names the methods it answers
            methods = route.route_handler.opt["methods"]
            routes.update((m, path) for m in methods if m != "OPTIONS")
    assert routes - set(ROUTE_SCOPES) == set(), "a route without a scope in auth.ROUTE_SCOPES"
    assert set(ROUTE_SCOPES) - routes == set(), "auth.ROUTE_SCOPES names a route that is gone"


async def test_auth_every_route_by_key_kind(
    models: Path, tmp_path: Path, conninfo: str, trained_binary: Any
) -> None:
    await migrate(conninfo)
    keys = await keys_by_kind(conninfo)
    version = trained_binary.manifest.version
    wrong: list[str] = []
    async with serving(models, tmp_path / "data", conninfo) as app, httpx.AsyncClient(
        base_url=app.url, timeout=30
    ) as http:  # fmt: skip
        for (method, path), needed in sorted(ROUTE_SCOPES.items(), key=str):
            if method == WEBSOCKET:
                continue
            url = concrete(path, version)
            for kind in KINDS:
                body = {} if method == "POST" else None
                answer = await http.request(method, url, json=body, headers=auth(keys[kind]))
                got = _verdict(answer)
                expected = _expected(needed, kind)
                if got != expected:
                    wrong.append(f"{method} {url} with {kind}: {answer.status_code} "
                                 f"{answer.text[:120]}, expected {expected}")  # fmt: skip
    assert wrong == []


def _expected(needed: Scope | None, kind: str) -> str:
    if needed is None:
        return "allowed"
    if kind in ("none", "revoked"):
        return "401"
    return "allowed" if RANK[kind] >= RANK[needed] else "403"


def _verdict(answer: httpx.Response) -> str:
    """401/403 only when they are the auth layer's (problem+json and their headers)."""
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"].startswith("application/problem+json")
        return "401"
    if answer.status_code == 403:
        body = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert body["needed_scope"] in body["detail"]
        return "403"
    assert answer.status_code < 500, answer.text
    return "allowed"


async def test_auth_stream_ops_by_key_kind(models: Path, tmp_path: Path, conninfo: str) -> None:
    from websockets.asyncio.client import connect

    await migrate(conninfo)
    keys = await keys_by_kind(conninfo)
    predict = {"op": "predict", "id": 2, "model": "test_h2h", "features": FEATURES}
    async with serving(models, tmp_path / "data", conninfo) as app:
        for kind in ("revoked", "bogus"):
            token = keys["revoked"] if kind == "revoked" else "a1rt_nope_nope"
            async with connect(f"{app.ws_url}?token={token}") as ws:
                assert await close_code(ws) == 4501
            async with connect(app.ws_url) as ws:  # the auth op, same verdict
                await send(ws, {"op": "auth", "id": 0, "token": token})
                assert await close_code(ws) == 4501
        async with connect(app.ws_url) as ws:  # no key: only auth and ping
            await send(ws, {"op": "ping", "id": 1})
            assert (await recv_op(ws, "pong"))["id"] == 1
            await send(ws, {"op": "subscribe", "id": 1, "channels": ["alerts"]})
            assert (await recv_op(ws, "error"))["code"] == "unauthenticated"
            await send(ws, predict)
            assert (await recv_op(ws, "error"))["code"] == "unauthenticated"
        for kind in ("read", "predict", "admin"):
            async with connect(f"{app.ws_url}?token={keys[kind]}") as ws:
                await send(ws, {"op": "subscribe", "id": 1, "channels": ["alerts"]})
                assert (await recv_op(ws, "ack"))["id"] == 1
                await send(ws, predict)
                if kind == "read":
                    error = await recv_op(ws, "error")
                    assert (error["code"], error["id"]) == ("forbidden", 2)
                else:
                    assert (await recv_op(ws, "result"))["id"] == 2


async def test_auth_revoke_by_the_cli_takes_effect_on_a_running_app(
    models: Path, tmp_path: Path, conninfo: str
) -> None:
    from websockets.asyncio.client import connect

    await migrate(conninfo)
    new = await create_key(conninfo, scope="predict")
    async with (
        serving(models, tmp_path / "data", conninfo) as app,
        httpx.AsyncClient(base_url=app.url) as http,
        connect(f"{app.ws_url}?token={new.key}") as ws,
    ):
        assert (await http.get("/api/v2/models", headers=auth(new.key))).status_code == 200
        env = {**os.environ, "A1RT_DATABASE_URL": conninfo, "A1RT_LOG_LEVEL": "warning"}
        done = await anyio.run_process([sys.executable, "-m", "a1rt.cli", "keys", "revoke",
                                        new.key_id], env=env, cwd=ROOT)  # fmt: skip
        assert done.returncode == 0 and new.key_id in done.stdout.decode()
        revoked_at = time.monotonic()
        with anyio.fail_after(1.5):  # the cache polls every 10 s: only NOTIFY is this quick
            while (await http.get("/api/v2/models", headers=auth(new.key))).status_code != 401:
                await anyio.sleep(0.02)
        assert time.monotonic() - revoked_at < 1.5
        # A connection that authenticated before is closed: 4501, do not reconnect with it.
        assert await close_code(ws) == 4501


async def test_auth_rate_limit_answers_429_with_retry_after(
    models: Path, tmp_path: Path, conninfo: str
) -> None:
    from websockets.asyncio.client import connect

    await migrate(conninfo)
    new = await create_key(conninfo, scope="predict")
    other = await create_key(conninfo, scope="read")
    async with serving(models, tmp_path / "data", conninfo, key_rate=0.2, key_burst=3
                       ) as app, httpx.AsyncClient(base_url=app.url) as http:  # fmt: skip
        statuses = [(await http.get("/api/v2/models", headers=auth(new.key))).status_code
                    for _ in range(3)]  # fmt: skip
        assert statuses == [200, 200, 200]
        limited = await http.get("/api/v2/models", headers=auth(new.key))
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.headers["retry-after"] == "5"  # 1 token at 0.2/s: 5 s, whole seconds
        assert 0 < limited.json()["retry_after"] <= 5
        assert (await http.get("/api/v2/models", headers=auth(other.key))).status_code == 200
        assert (await http.get("/health")).status_code == 200  # public routes are not metered
        async with connect(f"{app.ws_url}?token={new.key}") as ws:  # the same bucket
            await send(ws, {"op": "predict", "id": 7, "model": "test_h2h", "features": FEATURES})
            error = await recv_op(ws, "error")
        assert (error["id"], error["code"], error["temporary"]) == (7, "rate_limited", True)
        metrics = (await http.get("/metrics")).text
        assert re.search(r"^a1rt_rate_limited_total 2\.0$", metrics, re.M)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {exc}")
    prefix = f"test-auth:{uuid.uuid4().hex}:"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


async def test_auth_rate_limit_holds_across_two_replicas_through_redis(
    models: Path, tmp_path: Path, conninfo: str, redis_prefix: str
) -> None:
    await migrate(conninfo)
    new = await create_key(conninfo, scope="read")
    shared = {"redis_url": REDIS_URL, "key_rate_prefix": redis_prefix, "key_rate": 0.5,
              "key_burst": 4}  # fmt: skip
    async with (
        serving(models, tmp_path / "a", conninfo, **shared) as a,
        serving(models, tmp_path / "b", conninfo, **shared) as b,
        httpx.AsyncClient() as http,
    ):
        on_a = [(await http.get(a.url + "/api/v2/models", headers=auth(new.key))).status_code
                for _ in range(4)]  # fmt: skip
        assert on_a == [200] * 4
        on_b = await http.get(b.url + "/api/v2/models", headers=auth(new.key))
        assert on_b.status_code == 429, on_b.text  # A drained the one bucket
        assert on_b.headers["retry-after"] == "2"
    with redis.Redis.from_url(REDIS_URL) as client:
        ttl = client.pttl(redis_prefix + new.key_id)
    assert 0 < ttl <= 9000  # refill time (8 s) + 1 s: an idle key's bucket goes away


async def test_auth_rate_limit_fails_open_when_redis_is_down() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/1")
    registry = CollectorRegistry()
    limiter = KeyRateLimiter(1.0, 1, redis=down, registry=registry)
    try:
        with anyio.fail_after(2):  # one failed attempt, then Redis is left alone
            assert [await limiter.take("k") for _ in range(3)] == [None, None, None]
    finally:
        await down.aclose()
    assert registry.get_sample_value("a1rt_rate_limit_fail_open_total") == 3
    assert registry.get_sample_value("a1rt_rate_limited_total") == 0


async def test_auth_cors_preflight_only_for_allowed_origins(
    models: Path, tmp_path: Path, conninfo: str
) -> None:
    await migrate(conninfo)
    preflight = {"access-control-request-method": "POST",
                 "access-control-request-headers": "authorization, content-type"}  # fmt: skip
    async with serving(models, tmp_path / "data", conninfo,
                       cors_origins=("https://ui.example",)) as app, httpx.AsyncClient(
        base_url=app.url
    ) as http:  # fmt: skip
        allowed = await http.options(
            "/api/v2/predict", headers={"origin": "https://ui.example", **preflight}
        )
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = await http.options(
            "/api/v2/predict", headers={"origin": "https://evil.example", **preflight}
        )
        assert other.status_code >= 400
        assert "access-control-allow-origin" not in other.headers
        simple = await http.get("/health", headers={"origin": "https://ui.example"})
        assert simple.headers["access-control-allow-origin"] == "https://ui.example"
        assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
        assert (
            "access-control-allow-origin"
            not in (await http.get("/health", headers={"origin": "https://evil.example"})).headers
        )


async def test_auth_body_over_the_limit_is_413_problem_json(
    models: Path, tmp_path: Path, conninfo: str
) -> None:
    await migrate(conninfo)
    new = await create_key(conninfo, scope="predict")
    body = b'{"model": "test_h2h", "features": {"x0": "' + b"9" * 1_100_000 + b'"}}'
    async with serving(models, tmp_path / "data", conninfo) as app, httpx.AsyncClient(
        base_url=app.url
    ) as http:  # fmt: skip
        headers = {"content-type": "application/json", **auth(new.key)}
        answer = await http.post("/api/v2/predict", content=body, headers=headers)
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["status"] == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(11):
                yield b" " * 100_000

        streamed = await http.post("/api/v2/predict", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert streamed.headers["content-type"].startswith("application/problem+json")
