"""`RequestContext`: every line logged while a request is served carries its id, whichever
logger wrote it, and no line logged outside a request does."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from litestar.types import Receive, Scope, Send

from a1rt.logs import configure_logging, get_logger
from a1rt.metrics import Metrics
from a1rt.web.request_context import RequestContext


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """What `configure_logging` writes, as JSON lines; the set-up is restored after."""
    saved_structlog, root = structlog.get_config(), logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("info", "json")
    written = io.StringIO()
    root.handlers[0].setStream(written)  # type: ignore[attr-defined]
    yield written
    structlog.configure(**saved_structlog)
    root.handlers[:], root.level = saved_handlers, saved_level


async def _logs_twice(scope: Scope, receive: Receive, send: Send) -> None:
    get_logger("a1rt.test").info("from structlog")
    logging.getLogger("a1rt.test.stdlib").warning("from the standard library")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_request_context_puts_the_request_id_on_every_line_logged_in_the_request(
    json_logs: io.StringIO,
) -> None:
    app = RequestContext(_logs_twice, Metrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
        echoed = await client.get("/", headers={"x-request-id": "bot-7"})
        fresh = await client.get("/")
    get_logger("a1rt.test").info("outside any request")
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    ids = [(line["event"], line.get("request_id")) for line in lines
           if line["logger"].startswith("a1rt.test")]  # fmt: skip
    fresh_id = fresh.headers["x-request-id"]
    assert echoed.headers["x-request-id"] == "bot-7"
    assert ids == [
        ("from structlog", "bot-7"),
        ("from the standard library", "bot-7"),
        ("from structlog", fresh_id),
        ("from the standard library", fresh_id),
        ("outside any request", None),
    ]
