from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from a1rt.health import Status
from a1rt.pipeline import Runtime

from .test_predict import started

AsyncTestClient = httpx.AsyncClient


@pytest.fixture
async def served(trained_binary: Any, copy_models: Callable[[Any], Path], tmp_path: Path
                 ) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:  # fmt: skip
    async for pair in started(copy_models(trained_binary), tmp_path / "data"):
        yield pair


@pytest.fixture
def runtime(served: tuple[httpx.AsyncClient, Runtime]) -> Runtime:
    return served[1]


@pytest.fixture
def client(served: tuple[httpx.AsyncClient, Runtime]) -> httpx.AsyncClient:
    return served[0]


@pytest.mark.anyio
async def test_app_health_reports_every_component(client: AsyncTestClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["actors"]["status"] == "ok"
    assert body["components"]["models"]["status"] == "ok"
    assert (await client.get("/health/live")).json() == {"status": "ok"}


@pytest.mark.anyio
async def test_app_ready_is_503_until_every_needed_component_was_ok(
    client: AsyncTestClient,
    runtime: Runtime,
) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    runtime.health.register("storage")
    not_ready = await client.get("/health/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["not_ok"] == ["storage"]
    runtime.health.report("storage", Status.OK)
    runtime.health.report("storage", Status.DEGRADED, "reconnecting")
    assert (await client.get("/health/ready")).status_code == 200  # ready once is enough
    assert (await client.get("/health")).json()["status"] == "degraded"


@pytest.mark.anyio
async def test_app_errors_are_problem_json_with_a_request_id(client: AsyncTestClient) -> None:
    missing = await client.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert set(missing.json()) >= {"type", "title", "status", "detail"}
    assert len(missing.headers["x-request-id"]) == 32
    wrong_method = await client.delete("/health/live")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405


@pytest.mark.anyio
async def test_app_echoes_a_safe_request_id_and_replaces_an_unsafe_one(
    client: AsyncTestClient,
) -> None:
    echoed = await client.get("/health/live", headers={"x-request-id": "bot-42.a"})
    assert echoed.headers["x-request-id"] == "bot-42.a"
    replaced = await client.get("/health/live", headers={"x-request-id": "<script>"})
    assert replaced.headers["x-request-id"] != "<script>"


@pytest.mark.anyio
async def test_app_metrics_count_requests_by_route_template(client: AsyncTestClient) -> None:
    await client.get("/health/live")
    await client.get("/nowhere")
    text = (await client.get("/metrics")).text
    assert 'a1rt_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text
    assert 'a1rt_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "a1rt_http_request_duration_seconds_bucket" in text


@pytest.mark.anyio
async def test_app_serves_the_openapi_schema(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/health/ready" in schema["paths"]
    assert (await client.get("/schema")).status_code == 200
