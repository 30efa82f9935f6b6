"""Lean routes: the bots' hot ASGI route, dispatched past Litestar's router.

A request to `POST /api/v2/predict` went through five layers before its handler ran: the app's
call (scope keys, send wrapper), the exception middleware (a send wrapper), the router (path
normalisation, the host check, a cached route lookup, the route's exception handlers resolved
afresh), and the ASGI route (guards, a copy of the scope). Profiled under load, those layers were
~17% of a prediction's server CPU (`python -m bench rest`), more than the ensemble itself.

`LeanRoutes` looks the exact path up in a dict and calls the route's function, doing what those
layers do that the route needs: the same scope keys (`litestar_app`, `route_handler`,
`path_template`), the same host check, and on an exception the app's own exception handling (the
route's resolved handlers, so errors are the same problem+json). Every other request, and every
request when CORS is configured (its middleware wraps Litestar's dispatch), goes to the app. The
route stays registered with Litestar, so it is routed there too (and documented) if a scope's
path is not the exact one.

A lean route must be an ASGI route without guards that starts its response only once it cannot
fail (the predict route's last step is its answer): an exception after the response started is
not turned into a second one.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._asgi.utils import is_valid_host
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException
from litestar.handlers import ASGIRouteHandler
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.types import ASGIApp, ExceptionHandlersMap, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState


class _Route:
    __slots__ = ("handler", "fn", "path", "exception_handlers")

    def __init__(self, app: Litestar, path: str) -> None:
        try:  # an ASGI route answers every method; any other kind has none or some
            _, handler, _, _, template = app.asgi_router.handle_routing(path=path, method="POST")
        except HTTPException:
            handler, template = None, None
        if not isinstance(handler, ASGIRouteHandler) or template != path:
            raise ValueError(f"{path} is not the path of an ASGI route")
        if handler.resolve_guards():
            raise ValueError(f"{path}: a lean route takes no guards")
        self.handler = handler
        self.fn: ASGIApp = handler.fn
        self.path = path
        self.exception_handlers: ExceptionHandlersMap = handler.resolve_exception_handlers()


class LeanRoutes:
    """The Litestar app, with `paths` (exact ASGI route paths) called directly."""

    def __init__(self, app: Litestar, paths: tuple[str, ...]) -> None:
        self.app = app
        lean = not app.cors_config  # CORS wraps Litestar's own dispatch: keep it
        self._routes = {path: _Route(app, path) for path in paths} if lean else {}
        self._errors = ExceptionHandlerMiddleware(app.asgi_router, None)  # for its handler only

    def __getattr__(self, name: str) -> Any:  # the wrapped Litestar app's attributes
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get(scope["path"]) if scope["type"] == ScopeType.HTTP else None
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = scope["litestar_app"] = self.app
        scope.setdefault("state", {})
        scope["path_params"] = {}
        scope["route_handler"] = route.handler
        scope["path_template"] = route.path
        try:
            for name, value in scope["headers"]:
                if name == b"host" and not is_valid_host(value):
                    raise ClientException("Invalid host header")
            await route.fn(scope, receive, send)
        except Exception as exc:
            ScopeState.from_scope(scope).exception_handlers = route.exception_handlers
            await self._errors.handle_request_exception(
                litestar_app=self.app, scope=scope, receive=receive, send=send, exc=exc
            )
