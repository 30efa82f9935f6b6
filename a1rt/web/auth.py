"""Who may call what: API keys (`Authorization: Bearer KEY`), scopes, per-key rate limits.

`ROUTE_SCOPES` is the one table of every route and the scope it needs; `authorize` is the one
check that enforces it (every HTTP route's `before_request`, websocket routes' guard). A route
missing from the table needs `admin` (and the authorization test, which walks the app's routes,
fails until it is added).

- no key, an unknown or a revoked one: 401 problem+json with `WWW-Authenticate: Bearer`;
- a key below the route's scope: 403 problem+json naming the scope needed;
- a key over its rate (`A1RT_KEY_RATE`/`A1RT_KEY_BURST`): 429 with `Retry-After`.

Without a database (`Runtime` built without `conninfo`: the tests of serving alone) there is
no key store and access is open, as `stream_protocol.authorise` has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio
from anyio.abc import TaskStatus
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import HTTPScope, WebSocketScope
from prometheus_client import CollectorRegistry, Counter

from ..pipeline import Runtime
from ..store import ActiveKey, KeyCache
from .problems import Problem
from .rate_limit import KeyRateLimiter, retry_after
from .stream_protocol import Scope, allows

WEBSOCKET = "WS"  # the "method" of a websocket route in the table
# Public routes are probes, Prometheus scrapes and API docs: orchestrators and scrapers call
# them without credentials, and they reveal nothing a key protects.
PUBLIC = None
ROUTE_SCOPES: dict[tuple[str, str], Scope | None] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/v2/health/live"): PUBLIC,
    ("GET", "/v2/health/ready"): PUBLIC,
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/redoc"): PUBLIC,
    ("GET", "/schema/swagger"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/oauth2-redirect.html"): PUBLIC,
    ("GET", "/schema/{path}"): PUBLIC,
    # The stream authenticates in its own protocol (`?token=` or the `auth` op), per op.
    (WEBSOCKET, "/api/v2/stream"): PUBLIC,
    ("GET", "/api/v2/models"): "read",
    ("GET", "/api/v2/models/{model_name}"): "read",
    ("GET", "/api/v2/data/fetch"): "read",
    ("GET", "/api/v2/data/live-games"): "read",
    ("GET", "/api/v2/sources"): "read",
    ("GET", "/api/v2/bets"): "read",
    ("GET", "/api/v2/performance"): "read",
    ("GET", "/api/v2/alerts"): "read",
    ("GET", "/api/v2/opportunities"): "read",
    ("GET", "/v2"): "read",
    ("GET", "/v2/models/{name}"): "read",
    ("GET", "/v2/models/{name}/ready"): "read",
    ("GET", "/v2/models/{name}/versions/{version}"): "read",
    ("GET", "/v2/models/{name}/versions/{version}/ready"): "read",
    ("POST", "/api/v2/predict"): "predict",
    ("POST", "/api/v2/predict/batch"): "predict",
    ("POST", "/v2/models/{name}/infer"): "predict",
    ("POST", "/v2/models/{name}/versions/{version}/infer"): "predict",
    ("POST", "/api/v2/bets"): "predict",
    ("POST", "/api/v2/models/{model_name}/reload"): "admin",
}  # fmt: skip
ASGIScope = HTTPScope | WebSocketScope
_CHALLENGE = 'Bearer realm="a1rt"'


class Access:
    """The app's key store (None: open access) and rate limiter; the guard's state."""

    def __init__(
        self, keys: KeyCache | None, limiter: KeyRateLimiter, registry: CollectorRegistry | None
    ) -> None:
        self.keys = keys
        self.limiter = limiter
        self.refused = Counter("a1rt_auth_refused", "Requests refused for want of a key or scope",
                               ["status"], registry=registry)  # fmt: skip

    @classmethod
    def of(cls, runtime: Runtime) -> Access:
        """Keys from the runtime's database (none without one); buckets in its Redis, if any."""
        settings = runtime.settings
        conninfo = runtime.conninfo
        keys = None if conninfo is None else KeyCache(conninfo)
        limiter = KeyRateLimiter(
            settings.key_rate, settings.key_burst, redis=runtime.redis,
            prefix=settings.key_rate_prefix, registry=runtime.metrics.registry,
        )  # fmt: skip
        return cls(keys, limiter, runtime.metrics.registry)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep the keys current until `request_stop` (started once they were first loaded)."""
        if self.keys is None:
            task_status.started()
            return
        await self.keys.run(task_status=task_status)

    def request_stop(self) -> None:
        """Stop `run` (uses not yet written to `last_used_at` are written first)."""
        if self.keys is not None:
            self.keys.request_stop()

    async def check(self, needed: Scope | None, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """Raise the 401, 403 or 429 Problem that a request needing `needed` deserves."""
        if needed is None or self.keys is None:
            return
        token = bearer_token(headers)
        key = None if token is None else self.keys.lookup(token)
        if key is None:
            self.refused.labels("401").inc()
            challenge = _CHALLENGE if token is None else _CHALLENGE + ', error="invalid_token"'
            detail = "an API key is needed: Authorization: Bearer KEY" if token is None else (
                "the API key is not valid (unknown or revoked)")  # fmt: skip
            raise Problem(401, detail, headers={"WWW-Authenticate": challenge})
        if not allows(key.scope, needed):
            self.refused.labels("403").inc()
            raise Problem(403, f"this route needs the {needed} scope; the key has {key.scope}",
                          needed_scope=needed)  # fmt: skip
        await self.admit(key)

    async def admit(self, key: ActiveKey) -> None:
        """Spend one of the key's tokens, or raise 429 with `Retry-After`."""
        wait = await self.limiter.take(key.key_id)
        if wait is not None:
            raise Problem(429, f"over this key's rate limit ({self.limiter.rate:g}/s); retry "
                          f"in {wait:.3f}s", headers={"Retry-After": retry_after(wait)},
                          retry_after=wait)  # fmt: skip

    async def admit_token(self, token: str | None) -> None:
        """For a websocket op made with `token`: 401 if the key has been revoked since the
        connection authenticated, 429 if it is over its rate."""
        if self.keys is None:
            return
        key = None if token is None else self.keys.lookup(token)
        if key is None:
            raise Problem(401, "the API key is no longer valid")
        await self.admit(key)


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler | None = None
) -> None:
    """The app's `before_request` hook for every HTTP route, and the guard of websocket routes:
    `authorize_scope`. (Not an app-wide guard: Litestar copies the route handler for each guard
    call, ~20 µs a request here.)"""
    await authorize_scope(connection.scope, connection.app.state["access"])


async def authorize_scope(scope: ASGIScope, access: Access) -> None:
    """The route's scope from `ROUTE_SCOPES`, checked by `Access`; what `authorize` does, for a
    route that Litestar hands the bare ASGI scope (`POST /api/v2/predict`)."""
    method = scope["method"] if scope["type"] == ScopeType.HTTP else WEBSOCKET
    if method == "OPTIONS":  # CORS preflights and Allow listings carry no credentials
        return
    needed = ROUTE_SCOPES.get((method, scope.get("path_template", "")), "admin")
    await access.check(needed, scope["headers"])


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header, if there is one."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None
