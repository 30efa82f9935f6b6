"""Outermost ASGI layer: a request id on every request and response, and HTTP metrics.

It wraps the whole Litestar app (not one route), so unmatched paths and errors raised
before routing are counted and carry an id too.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from ..messages import new_id
from ..metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Binds `request_id` to the log context, echoes it, and times the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self._requests = metrics.http_requests
        self._latency = metrics.http_latency
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def __getattr__(self, name: str) -> Any:  # the wrapped Litestar app's attributes
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send)

    async def _http(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            key = (scope["method"], scope.get("path_template") or "unmatched", status)
            children = self._children.get(key) or self._child(key)
            children[0].inc()
            children[1].observe(elapsed)
            structlog.contextvars.reset_contextvars(**tokens)

    def _child(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        """The metrics' children for one method, route and status (`labels` costs ~1 µs a
        call; the set is bounded: httptools knows a fixed set of methods, routes are
        templates)."""
        method, route, status = key
        children = (self._requests.labels(method, route, str(status)),
                    self._latency.labels(method, route))  # fmt: skip
        self._children[key] = children
        return children


def _request_id(scope: HTTPScope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
            return value.decode()
    return new_id()
