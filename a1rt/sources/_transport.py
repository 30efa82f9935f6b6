"""One GET over an aiohttp session, with every aiohttp failure turned into a `SourceError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiohttp

from ._exceptions import SourceBadResponse, SourceConnectionError, SourceTimeout
from .response import Answer

ParamValue = str | int | float | bool | Sequence[str]
Params = Mapping[str, ParamValue]
Query = list[tuple[str, str]]


def query_pairs(params: Params | None) -> Query:
    """Query pairs as aiohttp wants them: booleans as true/false, lists comma-joined."""
    pairs: Query = []
    for name, value in (params or {}).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            text = ",".join(value)
        pairs.append((name, text))
    return pairs


async def fetch(
    session: aiohttp.ClientSession,
    answer_for: tuple[str, str],
    url: str,
    query: Query,
    headers: Mapping[str, str],
    *,
    max_body: int,
    secret: str | None,
) -> Answer:
    """GET `url` and read the whole body (at most `max_body` bytes); `answer_for` is the
    (source, path) named in the answer and in errors, which never quote `secret`."""
    source, path = answer_for
    try:
        async with session.get(url, params=query, headers=headers) as response:
            body = await _read_body(response, max_body, source, path)
            return Answer(source, path, response.status, _lower(response.headers), body)
    except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
        raise SourceTimeout(source, f"timed out (GET {path})") from _scrub(exc, secret)
    except aiohttp.ClientPayloadError as exc:
        raise SourceBadResponse(source, f"a truncated or corrupt body (GET {path})") from _scrub(
            exc, secret
        )
    except (aiohttp.ClientError, OSError) as exc:
        raise SourceConnectionError(
            source, f"could not reach the provider: {type(exc).__name__} (GET {path})"
        ) from _scrub(exc, secret)


async def _read_body(response: aiohttp.ClientResponse, limit: int, source: str, path: str) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise SourceBadResponse(source, f"a body of {declared} bytes, over {limit} (GET {path})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise SourceBadResponse(source, f"a body over {limit} bytes (GET {path})")
        chunks.append(chunk)
    return b"".join(chunks)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _scrub(exc: BaseException, secret: str | None) -> BaseException:
    """Blank the key out of an aiohttp error's text: some quote the full URL, query and all."""
    if secret:
        exc.args = tuple(a.replace(secret, "***") if isinstance(a, str) else a for a in exc.args)
    return exc
