"""`/metrics`: the Prometheus text exposition."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST

from ..pipeline import Runtime


@get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=True)
async def metrics(runtime: NamedDependency[Runtime]) -> Response[bytes]:
    """Everything registered, rendered at scrape time."""
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
