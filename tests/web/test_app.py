from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from a1rt.config import load_settings
from a1rt.health import Status
from a1rt.pipeline import Runtime
from a1rt.web import create_app


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(load_settings({}))


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(runtime)) as client:
        yield client


@pytest.mark.anyio
async def test_app_health_reports_every_component(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["actors"]["status"] == "ok"
    assert (await client.get("/health/live")).json() == {"status": "ok"}


@pytest.mark.anyio
async def test_app_ready_is_503_until_every_needed_component_was_ok(
    client: AsyncTestClient,
    runtime: Runtime,  # type: ignore[type-arg]
) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    runtime.health.register("models")
    not_ready = await client.get("/health/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["not_ok"] == ["models"]
    runtime.health.report("models", Status.OK)
    runtime.health.report("models", Status.DEGRADED, "reload failed")
    assert (await client.get("/health/ready")).status_code == 200  # ready once is enough
    assert (await client.get("/health")).json()["status"] == "degraded"


@pytest.mark.anyio
async def test_app_errors_are_problem_json_with_a_request_id(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
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
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    echoed = await client.get("/health/live", headers={"x-request-id": "bot-42.a"})
    assert echoed.headers["x-request-id"] == "bot-42.a"
    replaced = await client.get("/health/live", headers={"x-request-id": "<script>"})
    assert replaced.headers["x-request-id"] != "<script>"


@pytest.mark.anyio
async def test_app_metrics_count_requests_by_route_template(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.get("/health/live")
    await client.get("/nowhere")
    text = (await client.get("/metrics")).text
    assert 'a1rt_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text
    assert 'a1rt_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "a1rt_http_request_duration_seconds_bucket" in text


@pytest.mark.anyio
async def test_app_serves_the_openapi_schema(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/health/ready" in schema["paths"]
    assert (await client.get("/schema")).status_code == 200
