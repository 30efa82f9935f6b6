"""`Client`'s REST side: predictions against a real server, problem+json errors as ProblemError,
and Retry-After honoured (boundedly) against a small fake."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiohttp import web

from a1rt.client import Client, ProblemError, ProtocolError, TransportError
from a1rt.client._problems import retry_after

pytestmark = pytest.mark.anyio
FEATURES = {f"x{i}": 0.1 * i for i in range(6)}


async def test_client_predict_round_trip(base_url: str) -> None:
    async with Client(base_url, api_key="any") as client:
        body = await client.predict(model="test_h2h", features=FEATURES)
        batch = await client.predict_batch([{"model": "test_h2h", "features": FEATURES}] * 2)
    assert body["model"] == "test_h2h"
    assert set(body["probabilities"]) == {"home", "away"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert len(batch["results"]) == 2
    for result in batch["results"]:  # batched inference may round differently in the last bit
        assert result["probabilities"] == pytest.approx(body["probabilities"])


async def test_client_error_answers_raise_problem_error_with_the_problem(base_url: str) -> None:
    async with Client(base_url) as client:
        with pytest.raises(ProblemError) as unknown:
            await client.predict(model="nope", features=FEATURES)
        with pytest.raises(ProblemError) as invalid:
            await client.predict(model="test_h2h", features={"x0": "high"})
    assert unknown.value.status == 404 and unknown.value.title == "Not Found"
    assert "nope" in unknown.value.detail and unknown.value.retry_after is None
    assert invalid.value.status == 422
    assert invalid.value.detail.startswith("features.")
    assert invalid.value.body["errors"][0]["field"] == invalid.value.detail.split(":")[0]


@asynccontextmanager
async def fake_api(answers: list[web.Response]) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """An HTTP server answering POST /api/v2/predict with `answers` in turn (each answer object
    can be sent once)."""
    seen: list[web.Request] = []

    async def predict(request: web.Request) -> web.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    app = web.Application()
    app.router.add_post("/api/v2/predict", predict)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def too_many(retry: str) -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": "Too Many Requests", "status": 429,
         "detail": "over 10 requests per second"},
        status=429, content_type="application/problem+json", headers={"Retry-After": retry},
    )  # fmt: skip


async def test_client_429_with_a_short_retry_after_is_retried() -> None:
    answers = [too_many("0"), too_many("0"), web.json_response({"ok": True})]
    async with fake_api(answers) as (url, seen), Client(url, "k") as client:
        assert await client.predict(model="m") == {"ok": True}
    assert len(seen) == 3
    assert {r.headers["Authorization"] for r in seen} == {"Bearer k"}


async def test_client_429_past_the_retry_budget_or_wait_raises_with_retry_after() -> None:
    async with fake_api([too_many("30")]) as (url, seen), Client(url) as client:
        with pytest.raises(ProblemError) as long_wait:
            await client.predict(model="m")
    assert len(seen) == 1  # a 30 s wait is the caller's decision, not the client's
    assert (long_wait.value.status, long_wait.value.retry_after) == (429, 30.0)
    assert long_wait.value.detail == "over 10 requests per second"
    async with (
        fake_api([too_many("0"), too_many("0")]) as (url, seen),
        Client(url, retries=1) as client,
    ):
        with pytest.raises(ProblemError) as exhausted:
            await client.predict(model="m")
    assert len(seen) == 2 and exhausted.value.retry_after == 0.0


async def test_client_non_problem_error_unreadable_answer_and_unreachable_server() -> None:
    html = web.Response(status=502, text="<html>bad gateway</html>", content_type="text/html")
    async with fake_api([html]) as (url, _), Client(url) as client:
        with pytest.raises(ProblemError) as proxy:
            await client.predict(model="m")
    assert (proxy.value.status, proxy.value.title) == (502, "Bad Gateway")
    assert "bad gateway" in proxy.value.detail
    not_json = web.Response(status=200, text="<html>ok</html>", content_type="text/html")
    async with fake_api([not_json]) as (url, _), Client(url) as client:
        with pytest.raises(ProtocolError, match="not JSON"):
            await client.predict(model="m")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with Client(f"http://127.0.0.1:{port}", timeout=2) as client:
            with pytest.raises(TransportError):
                await client.predict(model="m")


def test_client_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 23, 0, 0, tzinfo=UTC)
    assert retry_after("3") == 3.0
    assert retry_after("Tue, 01 Dec 2026 23:00:05 GMT", now) == 5.0
    assert retry_after("Tue, 01 Dec 2026 22:00:00 GMT", now) == 0.0  # in the past: now
    assert retry_after("soon") is None and retry_after(None) is None and retry_after(" ") is None


def test_client_rejects_a_base_url_without_http_scheme() -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client("127.0.0.1:8000")


async def test_client_used_outside_async_with_says_so() -> None:
    client = Client("http://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="async with"):
        await client.predict(model="m")
    with pytest.raises(RuntimeError, match="async with"):
        client.stream(["alerts"])
