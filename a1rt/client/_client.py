"""`Client`: one pooled aiohttp session for REST predictions and websocket streams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import anyio
import msgspec

from ._backoff import Backoff
from ._events import Position
from ._exceptions import ProblemError, ProtocolError, TransportError
from ._frames import EncodingName
from ._problems import problem
from ._stream import Stream

_RETRYABLE = (429, 503)  # statuses whose Retry-After says when trying again will work


class Client:
    """An async client of one a1rt server. Use it as `async with Client(url, key) as client:`;
    every request and stream shares its connection pool.

    `timeout` bounds each request (and each stream handshake) in seconds. A 429 or 503 that
    carries Retry-After is retried up to `retries` times when the wait is at most
    `max_retry_wait` seconds; otherwise it is raised as ProblemError with `retry_after` set.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        max_retry_wait: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: expected http:// or https://, got {base_url!r}")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self._session: aiohttp.ClientSession | None = None
        self._encode = msgspec.json.Encoder().encode
        self._decode = msgspec.json.Decoder().decode

    async def __aenter__(self) -> Client:
        headers = {"Accept": "application/json, application/problem+json",
                   "User-Agent": "a1rt-client"}  # fmt: skip
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # No session-wide total timeout: it would also bound a stream's whole life.
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout)
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session; RuntimeError outside `async with`."""
        if self._session is None:
            raise RuntimeError("use the client inside `async with Client(...) as client:`")
        return self._session

    async def predict(self, **body: Any) -> dict[str, Any]:
        """`POST /api/v2/predict` with `body` (model, features or event_id, explain): the
        decoded answer. ProblemError for an error answer."""
        return await self._post("/api/v2/predict", body)

    async def predict_batch(self, requests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """`POST /api/v2/predict/batch`: the decoded answer, `{"results": [...]}` in order."""
        return await self._post("/api/v2/predict/batch", {"requests": [dict(r) for r in requests]})

    def stream(
        self,
        channels: Iterable[str],
        *,
        encoding: EncodingName = "json",
        resume: Mapping[str, Position] | None = None,
        heartbeat: float = 15.0,
        backoff: Backoff | None = None,
        buffer: int = 1000,
    ) -> Stream:
        """A stream of `channels` (use `async with client.stream([...]) as stream:` and iterate
        it). `resume` starts from positions kept earlier ({channel: (epoch, seq)});
        `heartbeat` is the server's heartbeat interval: a connection silent for 2.5 times that
        is treated as dead. At most `buffer` events wait for the caller."""
        self.session  # noqa: B018 - fail here, not in the background, outside `async with`
        scheme, rest = self.base_url.split("://", 1)
        url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v2/stream"
        return Stream(
            lambda: self.session, url, channels, api_key=self.api_key, encoding=encoding,
            resume=resume, heartbeat=heartbeat, timeout=self.timeout, backoff=backoff,
            buffer=buffer,
        )  # fmt: skip

    async def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            payload = self._encode(body)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"the request body cannot be sent as JSON: {exc}") from exc
        attempt = 0
        while True:
            error = await self._attempt(path, payload)
            if not isinstance(error, ProblemError):
                return error
            wait = error.retry_after
            if (
                error.status not in _RETRYABLE or wait is None or wait > self.max_retry_wait
                or attempt >= self.retries
            ):  # fmt: skip
                raise error
            attempt += 1
            await anyio.sleep(wait)

    async def _attempt(self, path: str, payload: bytes) -> dict[str, Any] | ProblemError:
        """One POST: the decoded answer, or the problem it was answered with."""
        try:
            async with self.session.post(
                self.base_url + path, data=payload, headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:  # fmt: skip
                raw = await response.read()
                if response.status >= 400:
                    return problem(response.status, raw, response.headers.get("Retry-After"))
        except aiohttp.ClientError as exc:
            raise TransportError(f"POST {path}: {exc!r}") from exc
        except TimeoutError as exc:
            raise TransportError(f"POST {path}: no answer within {self.timeout:g}s") from exc
        try:
            decoded = self._decode(raw)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"POST {path}: the answer is not JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise ProtocolError(
                f"POST {path}: expected a JSON object, got {type(decoded).__name__}"
            )
        return decoded
