"""`LeanRoutes`: a lean route is called without Litestar's router and answers, errors included,
exactly as it does through Litestar; everything else (and everything under CORS) is Litestar's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar, asgi, get
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Receive, Scope, Send

from a1rt.web.lean_routes import LeanRoutes
from a1rt.web.problems import EXCEPTION_HANDLERS, Problem

PATH = "/lean"


@asgi(PATH, is_mount=False, copy_scope=False)
async def lean(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] == "DELETE":
        raise Problem(409, "cannot delete this")
    if scope["method"] == "PUT":
        raise RuntimeError("a bug")
    body = f'{{"template": "{scope["path_template"]}"}}'.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@get("/other")
async def other() -> dict[str, str]:
    return {"route": "other"}


def _deny(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    raise NotAuthorizedException()


@asgi("/guarded", is_mount=False, copy_scope=False, guards=[_deny])
async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("never called")


def _app(**kwargs: Any) -> Litestar:
    return Litestar([lean, other, guarded], exception_handlers=EXCEPTION_HANDLERS,
                    logging_config=None, **kwargs)  # fmt: skip


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a1rt.test")


def _count_routing(app: Litestar) -> list[str]:
    """Every path Litestar's router looks up from now on."""
    routed: list[str] = []
    lookup = app.asgi_router.handle_routing

    def counted(path: str, method: Any) -> Any:
        routed.append(path)
        return lookup(path=path, method=method)

    app.asgi_router.handle_routing = counted  # type: ignore[method-assign,assignment]
    return routed


def _seen(response: httpx.Response) -> tuple[int, str | None, bytes]:
    return response.status_code, response.headers.get("content-type"), response.content


@pytest.mark.anyio
async def test_a_lean_route_is_not_routed_by_litestar_and_answers_as_through_it() -> None:
    plain, leaned = _app(), _app()
    wrapped = LeanRoutes(leaned, (PATH,))
    routed = _count_routing(leaned)
    async with _client(plain) as through_litestar, _client(wrapped) as through_lean:
        for method in ("POST", "GET", "DELETE", "PUT"):  # an answer, a problem, a bug's 500
            expected = _seen(await through_litestar.request(method, PATH))
            assert _seen(await through_lean.request(method, PATH)) == expected, method
        assert routed == []
        answer = await through_lean.post(PATH)
        assert answer.json() == {"template": PATH}
        assert (await through_lean.delete(PATH)).json()["detail"] == "cannot delete this"
        assert (await through_lean.get("/other")).json() == {"route": "other"}
        assert routed == ["/other"]  # every other path is Litestar's


@pytest.mark.anyio
async def test_a_lean_route_refuses_a_bad_host_header_as_litestar_does() -> None:
    plain, leaned = _app(), _app()
    headers = {"host": "bad host\\name"}
    async with _client(plain) as through_litestar, _client(LeanRoutes(leaned, (PATH,))) as lean_:
        expected = await through_litestar.post(PATH, headers=headers)
        answer = await lean_.post(PATH, headers=headers)
    assert expected.status_code == 400
    assert _seen(answer) == _seen(expected)


@pytest.mark.anyio
async def test_with_cors_configured_the_lean_route_goes_through_litestar() -> None:
    app = _app(cors_config=CORSConfig(allow_origins=["https://ui.example"]))
    routed = _count_routing(app)
    async with _client(LeanRoutes(app, (PATH,))) as client:
        answer = await client.post(PATH, headers={"origin": "https://ui.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://ui.example"
    assert routed == [PATH]


@pytest.mark.parametrize(("path", "why"), [("/other", "not the path of an ASGI route"),
                                           ("/guarded", "takes no guards")])  # fmt: skip
def test_only_an_unguarded_asgi_route_can_be_lean(path: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        LeanRoutes(_app(), (path,))
