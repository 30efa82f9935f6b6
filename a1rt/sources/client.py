"""The client every poller uses: one pooled session per source, paced, retried, guarded, cached.

A call goes: cache → breaker → token bucket → request → judge the answer; failures that may pass
(timeouts, connection errors, 5xx, 429) are retried with backoff; the caller's own mistakes
(other 4xx) raise at once. Nothing from aiohttp escapes: its errors become `SourceError`s.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import anyio

from actors import Clock, MonotonicClock

from ..health import HealthRegistry, Status
from ..logs import get_logger
from ..messages import utcnow
from ..metrics import Metrics
from ._exceptions import (
    SourceAuthError,
    SourceBadResponse,
    SourceConnectionError,
    SourceError,
    SourceQuotaExceeded,
    SourceRateLimited,
    SourceRequestError,
    SourceServerError,
    SourceTimeout,
    SourceUnavailable,
)
from ._metrics import source_metrics
from ._transport import Params, Query, fetch, query_pairs
from .breaker import STATE_VALUE, BreakerState, CircuitBreaker
from .cache import CachedResponse, MemoryCache, ResponseCache, cache_key, kept_headers
from .config import SourceConfig
from .quota import QuotaTracker
from .rate_limit import TokenBucket
from .response import Answer, JsonType, SourceResponse, decode_json, error_for
from .retry import parse_http_date, parse_retry_after

log = get_logger(__name__)

K = TypeVar("K", bound=Hashable)

# Failures that may pass, so are retried; with a bad body they also count against the breaker.
RETRYABLE = (SourceTimeout, SourceConnectionError, SourceServerError, SourceRateLimited)
BREAKER_FAILURES = (*RETRYABLE, SourceBadResponse)
_OUTCOMES: tuple[tuple[type[SourceError], str], ...] = (
    (SourceTimeout, "timeout"),
    (SourceConnectionError, "connection_error"),
    (SourceServerError, "server_error"),
    (SourceRateLimited, "rate_limited"),
    (SourceBadResponse, "bad_response"),
    (SourceQuotaExceeded, "quota_exceeded"),
    (SourceAuthError, "auth_error"),
    (SourceRequestError, "request_error"),
    (SourceUnavailable, "rejected"),
)
_HEALTH = {
    BreakerState.CLOSED: Status.OK,
    BreakerState.HALF_OPEN: Status.DEGRADED,
    BreakerState.OPEN: Status.DOWN,
}


@dataclass(frozen=True, slots=True)
class JsonRequest:
    """One GET for `SourceClient.get_json_many`."""

    path: str
    params: Params | None = None
    expect: JsonType | None = None
    ttl: float | None = None


class SourceClient:
    """One provider's HTTP client; use it as `async with SourceClient(...) as client:` and call
    it from as many tasks as you like: they share the session, the bucket and the breaker."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        metrics: Metrics,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        cache: ResponseCache | None = None,
        quota: QuotaTracker | None = None,
        health: HealthRegistry | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.source = config.source
        self._clock = clock if clock is not None else MonotonicClock()
        self._rng = rng if rng is not None else random.Random()  # noqa: S311  (jitter, not crypto)
        self._metrics = source_metrics(metrics)
        self._wall = wall_clock
        self._health = health
        self.bucket = TokenBucket(config.rate, config.burst, self._clock)
        self.breaker = CircuitBreaker(config.breaker, self._clock, self._on_breaker_change)
        self.cache: ResponseCache = cache if cache is not None else MemoryCache(self._clock)
        self.quota = quota if quota is not None or not config.track_quota else QuotaTracker()
        self._session: aiohttp.ClientSession | None = None
        self._metrics.breaker_state.labels(self.source).set(0)
        if health is not None:
            health.register(self._component, needed_for_ready=False)

    @property
    def _component(self) -> str:
        return f"source:{self.source}"

    async def __aenter__(self) -> Self:
        timeouts = self.config.timeouts
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
            ),
            connector=aiohttp.TCPConnector(limit=self.config.max_connections),
            headers={"User-Agent": self.config.user_agent, **self.config.headers},
        )
        if self._health is not None:
            self._health.report(self._component, Status.OK, "circuit closed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            with anyio.CancelScope(shield=True):
                await session.close()

    async def get_json(
        self,
        path: str,
        params: Params | None = None,
        *,
        expect: JsonType | None = None,
        ttl: float | None = None,
    ) -> SourceResponse:
        """GET `path` (relative to the base URL) and return its JSON, from the cache when a
        `ttl` (or the config's `cache_ttl`) allows; `expect=list|dict` checks the top-level type.
        Raises a `SourceError` subclass on any failure."""
        started = self._clock.now()
        query = query_pairs(params)
        url = f"{self.config.base_url.rstrip('/')}/{path.lstrip('/')}"
        ttl = self.config.cache_ttl if ttl is None else ttl
        key = cache_key("GET", url, query)
        if ttl > 0:
            hit = await self._from_cache(key, path, expect, started)
            if hit is not None:
                return hit
        answer, data = await self._with_retries(path, url, query, expect)
        if ttl > 0:
            stored = CachedResponse(answer.status, answer.body, kept_headers(answer.headers))
            await self.cache.set(key, stored, ttl)
        elapsed = self._clock.now() - started
        return SourceResponse(answer.status, data, answer.headers, False, elapsed)

    async def get_json_many(
        self, requests: Mapping[K, JsonRequest]
    ) -> dict[K, SourceResponse | SourceError]:
        """Run several GETs at once (e.g. one per sport); each gets its answer or its error."""
        results: dict[K, SourceResponse | SourceError] = {}

        async def one(name: K, request: JsonRequest) -> None:
            try:
                results[name] = await self.get_json(
                    request.path, request.params, expect=request.expect, ttl=request.ttl
                )
            except SourceError as exc:
                results[name] = exc

        async with anyio.create_task_group() as tg:
            for name, request in requests.items():
                tg.start_soon(one, name, request)
        return results

    async def _from_cache(
        self, key: str, path: str, expect: JsonType | None, started: float
    ) -> SourceResponse | None:
        entry = await self.cache.get(key)
        self._metrics.cache.labels(self.source, "miss" if entry is None else "hit").inc()
        if entry is None:
            return None
        answer = Answer(self.source, path, entry.status, entry.headers, entry.body)
        try:
            data = decode_json(answer, expect)
        except SourceError:
            return None  # stored by another version or for another expectation: fetch afresh
        elapsed = self._clock.now() - started
        return SourceResponse(entry.status, data, dict(entry.headers), True, elapsed)

    async def _with_retries(
        self, path: str, url: str, query: Query, expect: JsonType | None
    ) -> tuple[Answer, Any]:
        for retry in itertools.count():
            try:
                return await self._attempt(path, url, query, expect)
            except RETRYABLE as exc:
                delay = self.config.retry.delay(retry, self._rng, _retry_after(exc))
                if delay is None:
                    log.warning("source request failed", source=self.source, path=path,
                                attempts=retry + 1, error=str(exc))  # fmt: skip
                    raise
                self._metrics.retries.labels(self.source, _outcome(exc)).inc()
                log.info("source request retried", source=self.source, path=path,
                         retry=retry + 1, delay=round(delay, 3), error=str(exc))  # fmt: skip
                await self._clock.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, path: str, url: str, query: Query, expect: JsonType | None
    ) -> tuple[Answer, Any]:
        if not self.breaker.allow():
            self._metrics.requests.labels(self.source, "rejected").inc()
            wait = self.breaker.retry_in()
            raise SourceUnavailable(
                self.source, f"circuit open, next try in {wait:.1f}s (GET {path})", retry_in=wait
            )
        try:
            waited = await self.bucket.acquire()
            self._metrics.throttled.labels(self.source).inc(waited)
            answer = await self._send(path, url, query)
            data = self._judge(answer, expect)
        except BREAKER_FAILURES as exc:
            self._finish(exc, failed=True)
            raise
        except SourceError as exc:
            self._finish(exc, failed=False)  # the provider answered; the request was wrong
            raise
        except BaseException:
            self.breaker.release()
            raise
        self._finish(None, failed=False)
        return answer, data

    def _finish(self, exc: SourceError | None, *, failed: bool) -> None:
        if failed:
            self.breaker.record_failure()
        else:
            self.breaker.record_success()
        outcome = "ok" if exc is None else _outcome(exc)
        self._metrics.requests.labels(self.source, outcome).inc()

    def _judge(self, answer: Answer, expect: JsonType | None) -> Any:
        self._track_quota(answer.headers)
        if 200 <= answer.status < 300:
            return decode_json(answer, expect)
        retry_after = None
        if answer.status in (429, 503):
            now = parse_http_date(answer.headers.get("date")) or self._wall()
            retry_after = parse_retry_after(answer.headers.get("retry-after"), now)
        error = error_for(answer, retry_after)
        if isinstance(error, SourceQuotaExceeded) and self.quota is not None:
            self.quota.exhausted()
            self._metrics.quota_remaining.labels(self.source).set(0)
        raise error

    def _track_quota(self, headers: Mapping[str, str]) -> None:
        if self.quota is None or not self.quota.update(headers):
            return
        if self.quota.remaining is not None:
            self._metrics.quota_remaining.labels(self.source).set(self.quota.remaining)

    async def _send(self, path: str, url: str, query: Query) -> Answer:
        params, headers = self._place_key(query)
        key = self.config.api_key
        started = self._clock.now()
        try:
            return await fetch(
                self._require_session(), (self.source, path), url, params, headers,
                max_body=self.config.max_body_bytes, secret=None if key is None else key.value,
            )  # fmt: skip
        finally:
            self._metrics.latency.labels(self.source).observe(self._clock.now() - started)

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError(f"{self.source}: use SourceClient inside `async with`")
        return self._session

    def _place_key(self, query: Query) -> tuple[Query, dict[str, str]]:
        key = self.config.api_key
        if key is None:
            return query, {}
        if key.location == "query":
            return [*query, (key.name, key.value)], {}
        return query, {key.name: key.value}

    def _on_breaker_change(self, old: BreakerState, new: BreakerState) -> None:
        self._metrics.breaker_state.labels(self.source).set(STATE_VALUE[new])
        level = log.warning if new is BreakerState.OPEN else log.info
        level("source circuit changed", source=self.source, old=str(old), new=str(new))
        if self._health is not None:
            self._health.report(self._component, _HEALTH[new], f"circuit {new}")


def _outcome(exc: SourceError) -> str:
    return next((label for kind, label in _OUTCOMES if isinstance(exc, kind)), "error")


def _retry_after(exc: SourceError) -> float | None:
    return exc.retry_after if isinstance(exc, SourceRateLimited | SourceServerError) else None
