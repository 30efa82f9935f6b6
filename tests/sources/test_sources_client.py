"""The client end to end against a local stand-in for the providers (aiohttp.web on 127.0.0.1)."""

from __future__ import annotations

import random
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from a1rt.health import HealthRegistry
from a1rt.metrics import Metrics
from a1rt.sources import (
    BreakerPolicy,
    BreakerState,
    CachedResponse,
    JsonRequest,
    MemoryCache,
    RedisCache,
    RetryPolicy,
    SourceAuthError,
    SourceBadResponse,
    SourceClient,
    SourceConnectionError,
    SourceError,
    SourceQuotaExceeded,
    SourceRateLimited,
    SourceRequestError,
    SourceResponse,
    SourceServerError,
    SourceTimeout,
    SourceUnavailable,
    Timeouts,
)
from actors import ManualClock
from tests.sources import providers_kit as kit

KEY = "s3cret-key-0123456789"
SEED = 5
RETRY = kit.RETRY
ODDS = [
    {
        "id": "7f0348f75d9f3d3bda52be5a73ea3f7b", "sport_key": "basketball_nba",
        "commence_time": "2024-05-03T00:30:00Z", "home_team": "Boston Celtics",
        "away_team": "Miami Heat", "bookmakers": [],
    }
]  # fmt: skip
QUOTA = {"x-requests-remaining": "480", "x-requests-used": "20", "x-requests-last": "2"}
DETAILS = "https://the-odds-api.com/liveapi/guides/v4/api-error-codes.html#"
DATADOME = {"url": "https://geo.captcha-delivery.com/captcha/?initialCid=AHrlqAAA&hash=AB&t=fe&s=1"}
ERRORS: dict[str, tuple[int, Any]] = {
    "missing_key": (401, {"message": "API key is missing", "error_code": "MISSING_KEY"}),
    "invalid_key": (401, {
        "message": "API key is not valid. Get an API key at https://the-odds-api.com",
        "error_code": "INVALID_KEY"}),
    "out_of_credits": (401, {
        "message": "Usage quota has been reached. See usage plans at https://the-odds-api.com",
        "error_code": "OUT_OF_USAGE_CREDITS"}),
    "missing_region": (422, {
        "message": "Missing regions or bookmakers key", "error_code": "MISSING_REGION"}),
    "unknown_sport": (404, {"message": "Unknown sport", "error_code": "UNKNOWN_SPORT"}),
    "sportradar_forbidden": (403, {"message": "Forbidden"}),
    "sportradar_over_limit": (403, {"message": "Developer Over Limit"}),
    "sportradar_over_qps": (403, {"message": "Developer Over QPS"}),
    "prizepicks_datadome": (403, DATADOME),
    "espn_date_range": (400, {"code": 400, "message": "Failed to get events endpoint."}),
}  # fmt: skip
HTML = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf</body></html>"

Reply = Callable[[], web.StreamResponse]


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return lambda: web.json_response(body, status=status, headers={**QUOTA, **(headers or {})})


def raw_reply(status: int, body: bytes, content_type: str = "application/json") -> Reply:
    return lambda: web.Response(status=status, body=body, content_type=content_type)


OK = json_reply(200, ODDS)


class FakeProvider:
    """Answers like the providers do; counts hits per path and remembers what it was sent."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.seen: list[web.Request] = []
        self.scripts: dict[str, list[Reply]] = {}
        self.release = anyio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.base_url = ""
        self.app = web.Application()
        routes = {
            "/ok": self.ok, "/error/{name}": self.error, "/scripted/{name}": self.scripted,
            "/slow": self.slow, "/truncated-wire": self.truncated_wire, "/drop": self.drop,
            "/concurrent/{sport}": self.concurrent,
        }  # fmt: skip
        for path, handler in routes.items():
            self.app.router.add_get(path, handler)

    def script(self, name: str, *replies: Reply) -> str:
        """Serve `replies` in turn on /scripted/{name}; the last one repeats."""
        self.scripts[name] = list(replies)
        return f"/scripted/{name}"

    def _hit(self, request: web.Request) -> None:
        self.hits[request.path] += 1
        self.seen.append(request)

    async def ok(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        return OK()

    async def error(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        status, body = ERRORS[request.match_info["name"]]
        return json_reply(status, body)()

    async def scripted(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        replies = self.scripts[request.match_info["name"]]
        return (replies.pop(0) if len(replies) > 1 else replies[0])()

    async def slow(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        with anyio.move_on_after(5):
            await self.release.wait()
        return OK()

    async def truncated_wire(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'[{"id": 1}, {"id"')
        assert request.transport is not None
        request.transport.close()
        return response

    async def drop(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def concurrent(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(0.05)
        finally:
            self.in_flight -= 1
        if request.match_info["sport"] == "unknown":
            return json_reply(*ERRORS["unknown_sport"])()
        return json_reply(200, [{"sport": request.match_info["sport"]}])()


@pytest.fixture
async def provider(anyio_backend: str) -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    async with TestServer(fake.app, host="127.0.0.1") as server:
        fake.base_url = str(server.make_url("/"))
        yield fake
        fake.release.set()


def make_client(base_url: str, source: str = "odds_api", **options: Any) -> SourceClient:
    return kit.make_client(source, base_url, api_key=KEY, seed=SEED, **options)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return kit.sample(metrics, name, "odds_api", **labels)


def expected_backoffs(count: int) -> list[float]:
    rng = random.Random(SEED)
    return [RETRY.backoff(n, rng) for n in range(count)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- success, key placement, quota -------------------------------------------------------------


@pytest.mark.anyio
async def test_client_returns_json_status_headers_and_quota(provider: FakeProvider) -> None:
    metrics = Metrics()
    async with make_client(provider.base_url, metrics=metrics) as client:
        response = await client.get_json("/ok", {"regions": "us"}, expect=list)
    assert response.data == ODDS
    assert (response.status, response.from_cache) == (200, False)
    assert response.headers["x-requests-remaining"] == "480"
    assert client.quota is not None and client.quota.remaining == 480.0
    assert value(metrics, "a1rt_source_quota_remaining") == 480.0
    assert value(metrics, "a1rt_source_requests_total", outcome="ok") == 1.0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "query_key", "header_key"),
    [
        ("odds_api", KEY, None),
        ("sportradar", None, KEY),
        ("espn", None, None),
        ("prizepicks", None, None),
    ],
)
async def test_client_places_the_key_as_each_provider_wants(
    provider: FakeProvider, source: str, query_key: str | None, header_key: str | None
) -> None:
    async with make_client(provider.base_url, source) as client:
        await client.get_json("/ok", {"markets": ["h2h", "spreads"], "includeLinks": True})
    request = provider.seen[-1]
    assert request.query.get("apiKey") == query_key
    assert request.headers.get("x-api-key") == header_key
    assert request.query["markets"] == "h2h,spreads"
    assert request.query["includeLinks"] == "true"
    agent = request.headers["User-Agent"]
    assert agent.startswith("a1rt/") and "https://" in agent and "Mozilla" not in agent


@pytest.mark.anyio
async def test_client_use_outside_async_with_is_refused(provider: FakeProvider) -> None:
    client = make_client(provider.base_url)
    with pytest.raises(RuntimeError):
        await client.get_json("/ok")
    async with client:
        pass
    with pytest.raises(RuntimeError):
        await client.get_json("/ok")


# --- the caller's problems: raised at once ----------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [
        ("missing_key", SourceAuthError, "MISSING_KEY"),
        ("invalid_key", SourceAuthError, "INVALID_KEY"),
        ("sportradar_forbidden", SourceAuthError, None),
        ("prizepicks_datadome", SourceAuthError, None),
        ("out_of_credits", SourceQuotaExceeded, "OUT_OF_USAGE_CREDITS"),
        ("sportradar_over_limit", SourceQuotaExceeded, None),
        ("missing_region", SourceRequestError, "MISSING_REGION"),
        ("unknown_sport", SourceRequestError, "UNKNOWN_SPORT"),
        ("espn_date_range", SourceRequestError, None),
    ],
)
async def test_client_4xx_raises_at_once_with_the_providers_words(
    provider: FakeProvider, name: str, kind: type[SourceError], code: str | None
) -> None:
    clock = ManualClock()
    async with make_client(provider.base_url, clock=clock) as client:
        with pytest.raises(kind) as caught:
            await client.get_json(f"/error/{name}")
    status, body = ERRORS[name]
    error = caught.value
    assert type(error) is kind
    assert error.status == status
    assert getattr(error, "error_code") == code  # noqa: B009
    said = body.get("message") or "captcha"
    assert said in str(error)
    assert KEY not in str(error)
    assert provider.hits[f"/error/{name}"] == 1
    assert clock.sleeps == []
    assert client.breaker.state is BreakerState.CLOSED


@pytest.mark.anyio
async def test_client_out_of_credits_stretches_polling_to_the_reset(
    provider: FakeProvider,
) -> None:
    async with make_client(provider.base_url) as client:
        with pytest.raises(SourceQuotaExceeded):
            await client.get_json("/error/out_of_credits")
    assert client.quota is not None and client.quota.remaining == 0.0
    assert client.quota.poll_interval(30.0) == pytest.approx(client.quota.seconds_to_reset())


@pytest.mark.anyio
async def test_client_datadome_wall_with_200_is_an_auth_error(provider: FakeProvider) -> None:
    path = provider.script("wall", json_reply(200, DATADOME))
    async with make_client(provider.base_url, "prizepicks") as client:
        with pytest.raises(SourceAuthError, match="captcha"):
            await client.get_json(path, expect=dict)


@pytest.mark.anyio
async def test_client_4xx_never_trips_the_breaker(provider: FakeProvider) -> None:
    breaker = BreakerPolicy(failure_threshold=2, open_for=10.0)
    async with make_client(provider.base_url, breaker=breaker) as client:
        for _ in range(5):
            with pytest.raises(SourceRequestError):
                await client.get_json("/error/unknown_sport")
    assert client.breaker.state is BreakerState.CLOSED


# --- retried: 429, 5xx, timeouts, connection errors ---------------------------------------------


@pytest.mark.anyio
async def test_client_429_honours_retry_after_seconds(provider: FakeProvider) -> None:
    clock, metrics = ManualClock(), Metrics()
    limited = json_reply(429, {"error_code": "EXCEEDED_FREQ_LIMIT"}, {"Retry-After": "1"})
    path = provider.script("limited", limited, OK)
    async with make_client(provider.base_url, clock=clock, metrics=metrics) as client:
        response = await client.get_json(path)
    assert response.data == ODDS
    assert clock.sleeps == [1.0]
    assert response.elapsed == pytest.approx(1.0)
    assert value(metrics, "a1rt_source_retries_total", reason="rate_limited") == 1.0
    assert value(metrics, "a1rt_source_requests_total", outcome="rate_limited") == 1.0


@pytest.mark.anyio
async def test_client_429_honours_retry_after_http_date(provider: FakeProvider) -> None:
    clock = ManualClock()
    headers = {
        "Date": "Fri, 03 May 2024 00:00:00 GMT",
        "Retry-After": "Fri, 03 May 2024 00:00:02 GMT",
    }
    path = provider.script("dated", json_reply(429, {}, headers), OK)
    async with make_client(provider.base_url, clock=clock) as client:
        await client.get_json(path)
    assert clock.sleeps == [2.0]


@pytest.mark.anyio
async def test_client_429_without_retry_after_backs_off_then_gives_up(
    provider: FakeProvider,
) -> None:
    clock = ManualClock()
    path = provider.script("always", json_reply(429, {"error_code": "EXCEEDED_FREQ_LIMIT"}))
    async with make_client(provider.base_url, clock=clock) as client:
        with pytest.raises(SourceRateLimited) as caught:
            await client.get_json(path)
    assert caught.value.retry_after is None
    assert provider.hits[path] == RETRY.attempts
    assert clock.sleeps == expected_backoffs(2)
    assert all(0 <= s <= RETRY.ceiling(n) for n, s in enumerate(clock.sleeps))


@pytest.mark.anyio
async def test_client_retry_after_past_the_max_wait_gives_up_at_once(
    provider: FakeProvider,
) -> None:
    clock = ManualClock()
    path = provider.script("hour", json_reply(429, {}, {"Retry-After": "3600"}))
    async with make_client(provider.base_url, clock=clock) as client:
        with pytest.raises(SourceRateLimited) as caught:
            await client.get_json(path)
    assert caught.value.retry_after == 3600.0
    assert provider.hits[path] == 1
    assert clock.sleeps == []


@pytest.mark.anyio
async def test_client_sportradar_403_over_qps_is_retried_as_a_rate_limit(
    provider: FakeProvider,
) -> None:
    async with make_client(provider.base_url, "sportradar") as client:
        with pytest.raises(SourceRateLimited):
            await client.get_json("/error/sportradar_over_qps")
    assert provider.hits["/error/sportradar_over_qps"] == RETRY.attempts


@pytest.mark.anyio
async def test_client_gateway_html_403_over_qps_is_retried_as_a_rate_limit(
    provider: FakeProvider,
) -> None:
    path = provider.script("mashery", raw_reply(403, b"<h1>Developer Over Qps</h1>", "text/html"))
    async with make_client(provider.base_url, "sportradar") as client:
        with pytest.raises(SourceRateLimited, match="Developer Over Qps"):
            await client.get_json(path)
    assert provider.hits[path] == RETRY.attempts


@pytest.mark.anyio
async def test_client_plain_text_401_is_an_auth_error_quoting_the_text(
    provider: FakeProvider,
) -> None:
    path = provider.script("plain", raw_reply(401, b"Unauthorized: bad key\n", "text/plain"))
    async with make_client(provider.base_url, "espn") as client:
        with pytest.raises(SourceAuthError, match="401 Unauthorized: bad key") as caught:
            await client.get_json(path)
    assert caught.value.error_code is None


@pytest.mark.anyio
async def test_client_500_is_retried_with_backoff_then_raises(provider: FakeProvider) -> None:
    clock = ManualClock()
    path = provider.script("down", json_reply(500, {"message": "Internal Server Error"}))
    async with make_client(provider.base_url, clock=clock) as client:
        with pytest.raises(SourceServerError, match="500") as caught:
            await client.get_json(path)
    assert caught.value.status == 500
    assert provider.hits[path] == RETRY.attempts
    assert clock.sleeps == expected_backoffs(2)


@pytest.mark.anyio
async def test_client_503_honours_retry_after_then_succeeds(provider: FakeProvider) -> None:
    clock = ManualClock()
    busy = json_reply(503, {"message": "Service Unavailable"}, {"Retry-After": "1.5"})
    path = provider.script("busy", busy, OK)
    async with make_client(provider.base_url, clock=clock) as client:
        response = await client.get_json(path)
    assert response.data == ODDS
    assert clock.sleeps == [1.5]


@pytest.mark.anyio
async def test_client_502_html_page_is_retried(provider: FakeProvider) -> None:
    path = provider.script("gateway", raw_reply(502, HTML, "text/html"), OK)
    async with make_client(provider.base_url) as client:
        response = await client.get_json(path)
    assert response.data == ODDS
    assert provider.hits[path] == 2


@pytest.mark.anyio
async def test_client_slow_answer_times_out(provider: FakeProvider) -> None:
    policy = RetryPolicy(attempts=2, base=0.1, cap=0.1)
    async with make_client(provider.base_url, retry=policy) as client:
        with anyio.fail_after(5), pytest.raises(SourceTimeout) as caught:
            await client.get_json("/slow")
    assert isinstance(caught.value, TimeoutError)
    assert provider.hits["/slow"] == 2


@pytest.mark.anyio
async def test_client_cancelled_call_is_not_a_breaker_failure(provider: FakeProvider) -> None:
    async with make_client(provider.base_url, timeouts=Timeouts(read=5.0, total=10.0)) as client:
        with anyio.move_on_after(0.2):
            await client.get_json("/slow")
    assert client.breaker.failures == 0


@pytest.mark.anyio
async def test_client_refused_connection_is_retried_then_raises(anyio_backend: str) -> None:
    clock = ManualClock()
    base_url = f"http://127.0.0.1:{free_port()}/"
    async with make_client(base_url, clock=clock) as client:
        with anyio.fail_after(5), pytest.raises(SourceConnectionError) as caught:
            await client.get_json("/ok")
    assert len(clock.sleeps) == 2
    assert KEY not in str(caught.value)
    assert KEY not in str(caught.value.__cause__)


@pytest.mark.anyio
async def test_client_dropped_connection_is_retried_then_raises(provider: FakeProvider) -> None:
    async with make_client(provider.base_url) as client:
        with pytest.raises(SourceConnectionError):
            await client.get_json("/drop")
    # aiohttp itself resends an idempotent request once when a kept-alive connection drops.
    assert RETRY.attempts <= provider.hits["/drop"] <= 2 * RETRY.attempts


# --- bodies that are not the JSON asked for --------------------------------------------------


BAD_BODIES: dict[str, tuple[Reply, str]] = {
    "html": (raw_reply(200, HTML, "text/html"), "HTML page.*Just a moment"),
    "html_as_json": (raw_reply(200, b"  <html><body>oops</body></html>"), "HTML page"),
    "truncated_json": (raw_reply(200, b'[{"id": 1}, {"id"'), "truncated JSON"),
    "malformed": (raw_reply(200, b"hello, world", "text/plain"), "malformed JSON"),
    "empty": (raw_reply(200, b""), "empty body"),
    "object_not_array": (json_reply(200, {"message": "ok"}), "expected an array, got an object"),
    "string_not_array": (json_reply(200, "oops"), "expected an array, got a string"),
    "null_not_array": (json_reply(200, None), "expected an array, got null"),
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_client_bad_body_is_a_bad_response_not_retried(
    provider: FakeProvider, name: str
) -> None:
    reply, message = BAD_BODIES[name]
    path = provider.script(name, reply)
    async with make_client(provider.base_url) as client:
        with pytest.raises(SourceBadResponse, match=message):
            await client.get_json(path, expect=list)
    assert provider.hits[path] == 1
    assert client.breaker.failures == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b'[{"id": 1}]', "text/html"), (b'\xef\xbb\xbf[{"id": 1}]', "application/json")],
)
async def test_client_json_is_read_despite_a_wrong_label_or_a_bom(
    provider: FakeProvider, body: bytes, content_type: str
) -> None:
    path = provider.script("labelled", raw_reply(200, body, content_type))
    async with make_client(provider.base_url) as client:
        response = await client.get_json(path, expect=list)
    assert response.data == [{"id": 1}]


@pytest.mark.anyio
async def test_client_truncated_transfer_is_a_bad_response(provider: FakeProvider) -> None:
    async with make_client(provider.base_url) as client:
        with pytest.raises(SourceBadResponse, match="truncated"):
            await client.get_json("/truncated-wire")


@pytest.mark.anyio
async def test_client_oversized_body_is_a_bad_response(provider: FakeProvider) -> None:
    async with make_client(provider.base_url, max_body_bytes=64) as client:
        with pytest.raises(SourceBadResponse, match="over 64"):
            await client.get_json("/ok")


# --- breaker ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_client_breaker_opens_rejects_without_a_request_and_recovers(
    provider: FakeProvider,
) -> None:
    clock, metrics, health = ManualClock(), Metrics(), HealthRegistry()
    path = provider.script("outage", json_reply(500, {}))
    policy = BreakerPolicy(failure_threshold=2, open_for=10.0)
    settings: dict[str, Any] = {"breaker": policy, "retry": RetryPolicy(attempts=1)}
    async with make_client(
        provider.base_url, clock=clock, metrics=metrics, health=health, **settings
    ) as client:
        for _ in range(2):
            with pytest.raises(SourceServerError):
                await client.get_json(path)
        assert client.breaker.state is BreakerState.OPEN
        assert value(metrics, "a1rt_source_breaker_state") == 2.0
        assert health.snapshot()["source:odds_api"]["status"] == "down"

        with pytest.raises(SourceUnavailable) as caught:
            await client.get_json(path)
        assert caught.value.retry_in == pytest.approx(10.0)
        assert provider.hits[path] == 2
        assert value(metrics, "a1rt_source_requests_total", outcome="rejected") == 1.0

        provider.scripts["outage"] = [OK]
        clock.advance(10.0)
        response = await client.get_json(path)
        assert response.data == ODDS
        assert client.breaker.state is BreakerState.CLOSED
        assert value(metrics, "a1rt_source_breaker_state") == 0.0
        assert health.snapshot()["source:odds_api"]["status"] == "ok"


@pytest.mark.anyio
async def test_client_breaker_half_open_failure_opens_again(provider: FakeProvider) -> None:
    clock = ManualClock()
    path = provider.script("still_down", json_reply(503, {}))
    policy = BreakerPolicy(failure_threshold=1, open_for=5.0)
    settings: dict[str, Any] = {"breaker": policy, "retry": RetryPolicy(attempts=1)}
    async with make_client(provider.base_url, clock=clock, **settings) as client:
        with pytest.raises(SourceServerError):
            await client.get_json(path)
        clock.advance(5.0)
        with pytest.raises(SourceServerError):
            await client.get_json(path)  # the half-open trial
        assert client.breaker.state is BreakerState.OPEN
        with pytest.raises(SourceUnavailable):
            await client.get_json(path)
    assert provider.hits[path] == 2


# --- cache -----------------------------------------------------------------------------------


class RecordingCache(MemoryCache):
    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.keys: list[str] = []

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None:
        self.keys.append(key)
        await super().set(key, value, ttl)


@pytest.mark.anyio
async def test_client_cache_serves_within_ttl_then_fetches_again(provider: FakeProvider) -> None:
    clock, metrics = ManualClock(), Metrics()
    cache = RecordingCache(clock)
    async with make_client(provider.base_url, clock=clock, metrics=metrics, cache=cache) as client:
        first = await client.get_json("/ok", {"regions": "us"}, ttl=30.0)
        second = await client.get_json("/ok", {"regions": "us"}, ttl=30.0)
        clock.advance(30.0)
        third = await client.get_json("/ok", {"regions": "us"}, ttl=30.0)
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, False)
    assert second.data == ODDS
    assert second.headers["x-requests-remaining"] == "480"
    assert provider.hits["/ok"] == 2
    assert value(metrics, "a1rt_source_cache_lookups_total", result="hit") == 1.0
    assert value(metrics, "a1rt_source_cache_lookups_total", result="miss") == 2.0
    assert cache.keys and all(KEY not in key for key in cache.keys)


@pytest.mark.anyio
async def test_client_cache_keeps_no_errors(provider: FakeProvider) -> None:
    path = provider.script("once", json_reply(500, {}), OK)
    async with make_client(provider.base_url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(SourceServerError):
            await client.get_json(path, ttl=30.0)
        response = await client.get_json(path, ttl=30.0)
    assert not response.from_cache
    assert provider.hits[path] == 2


@pytest.mark.anyio
async def test_client_redis_cache_is_shared_between_clients(provider: FakeProvider) -> None:
    redis = Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5)
    try:
        with anyio.fail_after(2):
            await redis.ping()
    except (RedisError, OSError, TimeoutError):
        await redis.aclose()
        pytest.skip("no Redis answering at 127.0.0.1:6379")
    prefix = f"a1rt:test:{uuid.uuid4().hex}:"
    try:
        for expected in (False, True):
            cache = RedisCache(redis, prefix=prefix)
            async with make_client(provider.base_url, cache=cache) as client:
                response = await client.get_json("/ok", {"regions": "us"}, ttl=30.0)
            assert response.from_cache is expected
            assert response.data == ODDS
        assert provider.hits["/ok"] == 1
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 1 and KEY.encode() not in keys[0]
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()


# --- concurrency and the boundary ------------------------------------------------------------


@pytest.mark.anyio
async def test_client_requests_across_sports_run_concurrently(provider: FakeProvider) -> None:
    sports = ["basketball_nba", "americanfootball_nfl", "icehockey_nhl", "unknown"]
    requests = {sport: JsonRequest(f"/concurrent/{sport}", expect=list) for sport in sports}
    async with make_client(provider.base_url) as client:
        with anyio.fail_after(5):
            results = await client.get_json_many(requests)
    assert isinstance(results["unknown"], SourceRequestError)
    for sport in sports[:3]:
        response = results[sport]
        assert isinstance(response, SourceResponse)
        assert response.data == [{"sport": sport}]
    assert provider.max_in_flight >= 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/slow", "/drop", "/truncated-wire", "/error/invalid_key", "/scripted/html"]
)
async def test_client_no_aiohttp_error_escapes(provider: FakeProvider, path: str) -> None:
    provider.script("html", raw_reply(200, HTML, "text/html"))
    policy = RetryPolicy(attempts=1)
    async with make_client(provider.base_url, retry=policy) as client:
        with anyio.fail_after(5), pytest.raises(SourceError) as caught:
            await client.get_json(path)
    assert not isinstance(caught.value, aiohttp.ClientError)


@pytest.mark.anyio
async def test_client_timeout_text_never_quotes_the_key(anyio_backend: str) -> None:
    from a1rt.sources._transport import fetch

    class TimingOutSession:
        def get(self, url: str, params: list[tuple[str, str]], headers: Any) -> Any:
            query = "&".join(f"{k}={v}" for k, v in params)
            raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}?{query}")

    with pytest.raises(SourceTimeout) as caught:
        await fetch(
            TimingOutSession(),  # type: ignore[arg-type]
            ("odds_api", "/v4/sports"), "https://api.example/v4/sports", [("apiKey", KEY)], {},
            max_body=1024, secret=KEY,
        )  # fmt: skip
    assert KEY not in str(caught.value)
    assert KEY not in str(caught.value.__cause__)
    assert "***" in str(caught.value.__cause__)
