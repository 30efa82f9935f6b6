"""Requests over the stream waiting for their answer (`pong`, `result` or `error`), by id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from ._exceptions import ClientError
from ._frames import RequestId


class Answer:
    """One request's answer, once it comes: its data, or the error it failed with."""

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._data: Any = None
        self._error: ClientError | None = None

    def settle(self, data: Any) -> None:
        if not self._done.is_set():
            self._data = data
            self._done.set()

    def fail(self, error: ClientError) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._data


class Answers:
    """The answers outstanding on one stream."""

    def __init__(self) -> None:
        self._waiting: dict[RequestId, Answer] = {}

    @contextmanager
    def expect(self, request: RequestId) -> Iterator[Answer]:
        """Wait for `request`'s answer within the block (forgotten when it ends)."""
        answer = self._waiting[request] = Answer()
        try:
            yield answer
        finally:
            self._waiting.pop(request, None)

    def settle(self, request: RequestId, data: Any) -> bool:
        """Answer `request` with `data`; False if nothing waits for it."""
        answer = self._waiting.pop(request, None)
        if answer is not None:
            answer.settle(data)
        return answer is not None

    def fail(self, request: RequestId, error: ClientError) -> bool:
        """Fail `request`; False if nothing waits for it."""
        answer = self._waiting.pop(request, None) if request is not None else None
        if answer is not None:
            answer.fail(error)
        return answer is not None

    def fail_all(self, error: ClientError) -> None:
        """Fail every outstanding request (the connection is gone)."""
        waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            answer.fail(error)
