"""Liveness, readiness and per-component health."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from ..health import Status
from ..pipeline import Runtime


class HealthController(Controller):
    """`/health`, `/health/live`, `/health/ready`."""

    path = "/health"
    tags = ["health"]

    @get("/", summary="Each component's health: ok, degraded or down")
    async def health(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, Any]]:
        status = runtime.health.overall()
        body = {"status": status.value, "components": runtime.health.snapshot()}
        return Response(body, status_code=503 if status is Status.DOWN else 200)

    @get("/live", summary="The process is up and its event loop answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="503 until models are loaded and storage has answered once")
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, Any]]:
        ready = runtime.health.ready()
        waiting = [
            name for name, c in runtime.health.snapshot().items() if c["status"] != Status.OK.value
        ]
        body = {"ready": ready, "not_ok": waiting}
        return Response(body, status_code=200 if ready else 503)
