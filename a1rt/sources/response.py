"""What a provider's answer means: a usable JSON result, or the error that explains it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from ._exceptions import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceQuotaExceeded,
    SourceRateLimited,
    SourceRequestError,
    SourceServerError,
)

JsonType = type[list[Any]] | type[dict[str, Any]]

_TITLE = re.compile(rb"<title[^>]*>(.{0,160}?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(rb"<[^>]{0,200}>")
_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number",
               float: "a number", bool: "a boolean", type(None): "null"}  # fmt: skip
# Provider words for a spent quota and for a per-second limit answered as 403 (Sportradar).
_QUOTA_CODES = ("OUT_OF_USAGE_CREDITS",)
_QUOTA_WORDS = ("over limit", "over rate", "quota has been reached")
_QPS_WORDS = ("over qps",)


@dataclass(frozen=True, slots=True)
class SourceResponse:
    """A provider's JSON answer: status, parsed body, headers (lower-case names), whether it
    was served from the cache, and the seconds the call took (retries and waits included)."""

    status: int
    data: Any
    headers: Mapping[str, str]
    from_cache: bool
    elapsed: float


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as read off the wire, before it is judged."""

    source: str
    path: str
    status: int
    headers: Mapping[str, str]
    body: bytes


def decode_json(answer: Answer, expect: JsonType | None) -> Any:
    """The parsed body of a 2xx answer; SourceBadResponse if it is not the JSON expected."""
    body = answer.body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
    if _looks_like_html(body):
        raise _bad(answer, f"an HTML page instead of JSON{_title(body)}")
    if not body.strip():
        raise _bad(answer, "an empty body")
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise _bad(answer, _decode_problem(exc, len(body))) from exc
    if expect is not None and not isinstance(data, expect):
        raise _bad(answer, f"expected {_JSON_NAMES[expect]}, got {_json_name(data)}")
    if _is_bot_wall(data):
        raise _refusal(SourceAuthError, answer, "blocked by an anti-bot wall (captcha)", None)
    return data


def error_for(answer: Answer, retry_after: float | None) -> SourceError:
    """The error a non-2xx answer stands for (raised at once, or retried by the client)."""
    status = answer.status
    code, message = provider_explanation(answer.body)
    if status == 429 or _mentions(message, _QPS_WORDS):
        return SourceRateLimited(
            answer.source, _line(answer, code, message), status=status, retry_after=retry_after
        )
    if status in (401, 403):
        quota = code in _QUOTA_CODES or _mentions(message, _QUOTA_WORDS)
        return _refusal(SourceQuotaExceeded if quota else SourceAuthError, answer, message, code)
    if 400 <= status < 500:
        return _refusal(SourceRequestError, answer, message, code)
    if status >= 500:
        return SourceServerError(
            answer.source, _line(answer, code, message), status=status, retry_after=retry_after
        )
    return _bad(answer, f"unexpected status {status}")


def provider_explanation(body: bytes) -> tuple[str | None, str | None]:
    """The provider's error code and message from a JSON error body, if it has them."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None, _text_of(body) or None
    if not isinstance(data, dict):
        return None, None
    code = data.get("error_code")
    message = data.get("message") or data.get("error") or data.get("detail")
    if message is None and _is_bot_wall(data):
        message = "blocked by an anti-bot wall (captcha)"
    return (code if isinstance(code, str) else None), (str(message) if message else None)


def _refusal(
    kind: type[SourceAuthError | SourceRequestError],
    answer: Answer,
    message: str | None,
    code: str | None,
) -> SourceAuthError | SourceRequestError:
    return kind(
        answer.source,
        _line(answer, code, message),
        status=answer.status,
        error_code=code,
        provider_message=message,
        body=answer.body[:500].decode("utf-8", "replace"),
    )


def _line(answer: Answer, code: str | None, message: str | None) -> str:
    said = ": ".join(part for part in (code, message) if part)
    return f"{answer.status} {said or 'without explanation'} (GET {answer.path})"


def _bad(answer: Answer, problem: str) -> SourceBadResponse:
    return SourceBadResponse(
        answer.source, f"{answer.status} with {problem} (GET {answer.path})", status=answer.status
    )


def _looks_like_html(body: bytes) -> bool:
    # By the body, not the Content-Type: some servers label JSON text/html.
    return body.lstrip()[:1] == b"<"


def _title(body: bytes) -> str:
    found = _TITLE.search(body[:4096])
    return f" ('{_squash(found.group(1))}')" if found else ""


def _text_of(body: bytes) -> str:
    """A short readable line from a non-JSON body: its HTML title, else its text."""
    found = _TITLE.search(body[:4096])
    return _squash(found.group(1) if found else _TAG.sub(b" ", body[:2048]))[:160]


def _squash(text: bytes) -> str:
    return " ".join(text.decode("utf-8", "replace").split())


def _decode_problem(exc: msgspec.DecodeError, size: int) -> str:
    if "truncated" in str(exc):
        return f"a truncated JSON body ({size} bytes)"
    return f"a malformed JSON body ({exc})"


def _json_name(value: object) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _is_bot_wall(data: object) -> bool:
    if not isinstance(data, dict) or set(data) != {"url"}:
        return False
    url = data["url"]
    return isinstance(url, str) and "captcha" in url


def _mentions(message: str | None, words: tuple[str, ...]) -> bool:
    lowered = (message or "").lower()
    return any(word in lowered for word in words)
