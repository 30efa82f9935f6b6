"""The Litestar application, built around a Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

from .. import __version__
from ..logs import get_logger
from ..pipeline import Runtime
from .auth import Access, authorize
from .bets import BetsController
from .data import DataController
from .health import HealthController
from .inference_protocol import InferenceProtocol
from .lean_routes import LeanRoutes
from .models import ModelsController
from .opportunities import OpportunitiesController
from .predict import document_predict, predict, predict_batch
from .predict_body import MAX_BODY_BYTES
from .problems import EXCEPTION_HANDLERS
from .prometheus import metrics
from .request_context import RequestContext
from .stream import stream

log = get_logger(__name__)


def create_app(runtime: Runtime) -> RequestContext:
    """The ASGI app: Litestar routes (predict dispatched leanly, `lean_routes`) behind the
    request-id and metrics layer.

    The app's lifespan runs the runtime: the actors start before the first request is
    accepted and stop (draining their mailboxes) after the last one is answered.
    """

    access = Access.of(runtime)  # auth: API keys and rate limits (a1rt.web.auth)

    @asynccontextmanager
    async def run_runtime(_: Litestar) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            await tg.start(access.run)  # auth: the keys are loaded before the first request
            await tg.start(runtime.run)  # (frozen from the collector once loaded: model_watcher)
            try:
                yield
            finally:
                runtime.request_stop()
                with anyio.move_on_after(runtime.settings.shutdown_timeout) as waited:
                    await runtime.wait_stopped()
                if waited.cancelled_caught:
                    log.warning("actors did not stop in time; cancelling them")
                    tg.cancel_scope.cancel()
                access.request_stop()  # auth

    settings = runtime.settings
    app = Litestar(
        route_handlers=[
            HealthController,
            metrics,
            predict,
            predict_batch,
            ModelsController,
            InferenceProtocol,
            DataController,
            stream,
            BetsController,
            OpportunitiesController,
        ],  # fmt: skip
        state=State({"runtime": runtime, "access": access, "api_keys": access.keys}),
        before_request=authorize,  # auth: every HTTP route's scope, from auth.ROUTE_SCOPES
        dependencies={"runtime": Provide(lambda: runtime, sync_to_thread=False, use_cache=True)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[run_runtime],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            expose_headers=["Retry-After", "WWW-Authenticate", "X-Request-Id"],
        )
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="a1rt",
            version=__version__,
            description="Realtime sports-betting predictions: REST, Open Inference Protocol "
            "and a websocket stream.",
            path="/schema",
            render_plugins=[RedocRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )
    document_predict(app.openapi_schema)  # a lean ASGI route, which Litestar does not document
    return RequestContext(LeanRoutes(app, ("/api/v2/predict",)), runtime.metrics)
