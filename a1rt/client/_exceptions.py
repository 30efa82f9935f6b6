"""Everything `a1rt.client` raises, under one root:

    ClientError                 the root: catch it to catch anything the client raises
    ├── TransportError          the server could not be reached, or did not answer in time
    ├── ProtocolError           the server answered something the client cannot read
    ├── ProblemError            an HTTP request was answered with an error (problem+json)
    ├── OpError                 a stream op (subscribe, predict, auth) was answered `error`
    └── StreamRefused           the server refused the stream for good (close code 4500+,
                                or a handshake answered 401, 403 or 404): do not reconnect

aiohttp, websockets-level and msgspec errors are translated at the boundary (`from exc`), so a
caller needs only these.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ClientError",
    "OpError",
    "ProblemError",
    "ProtocolError",
    "StreamRefused",
    "TransportError",
]


class ClientError(Exception):
    """The root of every error `a1rt.client` raises."""


class TransportError(ClientError):
    """Raised when the server cannot be reached, drops the connection, or does not answer
    within the timeout."""


class ProtocolError(ClientError):
    """Raised when the server's answer cannot be read (not JSON, not the expected shape)."""


class ProblemError(ClientError):
    """Raised when an HTTP request is answered with an error status. Carries the
    problem+json body: `status`, `title`, `detail`, `type`, and `retry_after` (seconds, from
    the Retry-After header) when the server gave one; `body` is the whole decoded problem."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.retry_after = retry_after
        self.body: dict[str, Any] = body if body is not None else {}


class OpError(ClientError):
    """Raised when the server answers a stream op with an `error` frame: `code` (e.g.
    `unknown_channel`, `invalid`, `forbidden`), `message`, `temporary` (retrying later may
    work) and, for `predict`, the HTTP `status` the same request would have got."""

    def __init__(
        self, code: str, message: str, *, temporary: bool = False, status: int | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.temporary = temporary
        self.status = status


class StreamRefused(ClientError):
    """Raised by a stream when the server refuses it in a way reconnecting cannot fix: a close
    code of 4500 or above (4500 bad request, 4501 token refused, ...), or a handshake answered
    401, 403 or 404. `code` is the close code, `status` the handshake's HTTP status."""

    def __init__(self, reason: str, *, code: int | None = None, status: int | None = None) -> None:
        what = f"close code {code}" if code is not None else f"HTTP {status}"
        super().__init__(f"the server refused the stream ({what}): {reason}")
        self.code = code
        self.status = status
        self.reason = reason
