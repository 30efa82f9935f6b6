"""Reading an HTTP error answer: the problem+json body (RFC 9457) and the Retry-After header."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import msgspec

from ._exceptions import ProblemError

_decode = msgspec.json.Decoder().decode


def problem(status: int, body: bytes, retry_after_header: str | None) -> ProblemError:
    """The ProblemError an error answer means. A body that is not problem+json (a proxy's HTML
    page, say) still gives the status and the start of its text as the detail."""
    members: dict[str, Any] = {}
    try:
        decoded = _decode(body) if body else None
    except msgspec.DecodeError:
        decoded = None
    if isinstance(decoded, dict):
        members = decoded
    title = members.get("title")
    if not isinstance(title, str):
        title = _phrase(status)
    detail = members.get("detail")
    if not isinstance(detail, str):
        detail = "" if members else body[:200].decode("utf-8", "replace").strip()
    kind = members.get("type")
    return ProblemError(
        status, title, detail, type=kind if isinstance(kind, str) else "about:blank",
        retry_after=retry_after(retry_after_header), body=members,
    )  # fmt: skip


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
