"""Every error as `application/problem+json` (RFC 9457): type, title, status, detail."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from ..logs import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger(__name__)


class Problem(HTTPException):
    """An HTTP error with a problem type and extra members, raised by route handlers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=detail, status_code=status, headers=headers, extra=extra or None)
        self.kind = kind


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem+json response."""
    body = {
        "type": kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's HTTP errors (404, 405, 413, validation, ours) as problem+json."""
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc.extra, dict):
        extra.update(exc.extra)
    kind = exc.kind if isinstance(exc, Problem) else "about:blank"
    return problem_response(
        exc.status_code, str(exc.detail), kind=kind, headers=exc.headers, **extra
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: logged with its traceback, answered without internals."""
    log.exception("unhandled error", path=request.url.path, error=repr(exc))
    return problem_response(500, "internal error; the request id identifies it in the logs")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: http_error,
    Exception: internal_error,
}
