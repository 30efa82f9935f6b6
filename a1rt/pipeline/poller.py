"""One poller per source: polls each of its sports on an interval and feeds the feature cache.

A poller is a supervised service (it has no inbox): every `interval` seconds (slower when The
Odds API's quota says so) it polls all its sports concurrently through the source's shared
client, sends what it read to the feature cache and records the outcome on the SourceBoard. A
failed poll is counted and logged and the next one goes ahead; the client's breaker decides
when the provider is left alone. Providers report everything each time; only what changed since
the previous poll (ignoring its time stamps) goes on to the feature cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Protocol

import anyio
from anyio.abc import TaskStatus
from msgspec.structs import replace

from ..logs import get_logger
from ..messages import GameState, OddsUpdate, SourceMessage
from ..sources import SourceClient, SourceError
from .source_status import SourceBoard

log = get_logger(__name__)

Sink = Callable[[SourceMessage], Awaitable[None]]


class Pollable(Protocol):
    """A provider as the poller sees it; `client` is None for sources without HTTP."""

    name: str
    sports: tuple[str, ...]

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]: ...


class Poller:
    """Polls one provider's sports until stopped."""

    def __init__(
        self,
        provider: Pollable,
        client: SourceClient | None,
        sink: Sink,
        board: SourceBoard,
        *,
        interval: float,
    ) -> None:
        self.provider = provider
        self.name = f"poller:{provider.name}"
        self._client = client
        self._sink = sink
        self._board = board
        self._interval = interval
        self._stop: anyio.Event | None = None
        self._seen: dict[Hashable, SourceMessage] = {}

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._stop = anyio.Event()
        async with AsyncExitStack() as stack:
            if self._client is not None:
                await stack.enter_async_context(self._client)
            task_status.started()
            while not self._stop.is_set():
                await self.poll_once()
                with anyio.move_on_after(self._next_interval()):
                    await self._stop.wait()

    def request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def poll_once(self) -> None:
        """Poll every sport at once; each sport's failure is its own."""
        async with anyio.create_task_group() as tg:
            for sport in self.provider.sports:
                tg.start_soon(self._poll_sport, sport)
        if self._client is not None:
            self._board.breaker(self.provider.name, self._client.breaker.state.value)

    async def fetch(self, sport: str) -> list[SourceMessage]:
        """Poll `sport` now: everything the provider says, which also goes on as a poll's
        would. Raises the SourceError of a failed poll."""
        name = self.provider.name
        try:
            messages = await self.provider.poll(self._client, sport)  # type: ignore[arg-type]
        except SourceError as exc:
            self._board.failed(name, sport, str(exc))
            raise
        quota = None
        if self._client is not None and self._client.quota is not None:
            quota = self._client.quota.remaining
        self._board.succeeded(name, sport, messages, quota)
        for message in messages:
            key = _identity(message)
            same = replace(message, received_at=_EPOCH, source_time=None)
            if self._seen.get(key) != same:
                self._seen[key] = same
                await self._sink(message)
        return messages

    async def _poll_sport(self, sport: str) -> None:
        try:
            await self.fetch(sport)
        except SourceError as exc:
            log.warning("poll failed", source=self.provider.name, sport=sport, error=str(exc))

    def _next_interval(self) -> float:
        quota = None if self._client is None else self._client.quota
        if quota is None:
            return self._interval
        return quota.poll_interval(self._interval, requests_per_poll=2 * len(self.provider.sports))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _identity(message: SourceMessage) -> Hashable:
    """What one message is about; a later one about the same thing supersedes it."""
    if isinstance(message, GameState):
        return ("game", message.event_id)
    if isinstance(message, OddsUpdate):
        return ("odds", message.event_id, message.book, message.market)
    return ("prop", message.event_id, message.book, message.player, message.stat)
