"""The API keys a running server accepts, held in memory so a request never waits on the
database to be authenticated.

`run` loads every key that is not revoked, then LISTENs on `KEYS_CHANNEL`: `create_key` and
`revoke_key` NOTIFY in their transaction, so a revocation made by `a1rt keys revoke` in
another process is seen within a round trip. The listen times out every `poll_interval`
seconds and reloads anyway (the fallback if a notification is ever missed); a lost
connection is retried with backoff and the keys last loaded keep being served meanwhile.

Uses are recorded in memory (`lookup`) and written to `last_used_at` every `flush_interval`
seconds, in one statement, off the request path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import psycopg
from anyio.abc import TaskStatus

from ..logs import get_logger
from ._connection import connect, first_line
from ._exceptions import DatabaseUnavailable
from .api_keys import KEYS_CHANNEL, ActiveKey, Scope, active_keys, hash_key, record_use

log = get_logger(__name__)
_MAX_BACKOFF = 10.0
_MAX_ACCEPTED = 10_000  # tokens remembered as hashed; past it, each is hashed again


class KeyCache:
    """The accepted keys by hash; `scope_of` and `lookup` are synchronous and do no I/O."""

    def __init__(
        self, conninfo: str, *, poll_interval: float = 10.0, flush_interval: float = 5.0
    ) -> None:
        self.conninfo = conninfo
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        self.reloads = 0  # how many times the keys were (re)loaded
        self._keys: dict[str, ActiveKey] = {}
        # Accepted tokens already hashed (a SHA-256 per request was 1 % of a prediction's CPU);
        # emptied whenever the keys are reloaded, so a revocation still takes effect at once.
        self._accepted: dict[str, ActiveKey] = {}
        self._used: dict[str, float] = {}  # key id -> wall-clock time of its latest use
        self._watchers: set[Callable[[], None]] = set()
        self._scope: anyio.CancelScope | None = None
        self._stopping = False

    def lookup(self, token: str) -> ActiveKey | None:
        """The key `token` is, if it is accepted (and its use noted for `last_used_at`)."""
        key = self._accepted.get(token)
        if key is None:
            key = self._keys.get(hash_key(token))
            if key is not None and len(self._accepted) < _MAX_ACCEPTED:
                self._accepted[token] = key
        if key is not None:
            self._used[key.key_id] = time.time()
        return key

    def scope_of(self, token: str) -> Scope | None:
        """The scope `token` grants, or None if it is unknown or revoked."""
        key = self.lookup(token)
        return None if key is None else key.scope

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` after every (re)load of the keys (a revocation reaches it in one
        NOTIFY round trip); returns the function that stops it."""
        self._watchers.add(callback)
        return lambda: self._watchers.discard(callback)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Follow the table until `request_stop`; started once the first load was tried (if
        it failed, no key is accepted until a retry succeeds)."""
        with anyio.CancelScope() as self._scope:
            if self._stopping:
                self._scope.cancel()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._flush_every)
                await self._follow(task_status)
        with anyio.CancelScope(shield=True), anyio.move_on_after(3):
            await self._flush()

    def request_stop(self) -> None:
        """Stop `run` (the uses not yet written are written first)."""
        self._stopping = True
        if self._scope is not None:
            self._scope.cancel()

    async def _follow(self, task_status: TaskStatus[None]) -> None:
        started, delay = False, 0.5
        while True:
            try:
                async with connect(self.conninfo) as conn:
                    await conn.execute(f"LISTEN {KEYS_CHANNEL}")
                    while True:
                        await self._reload(conn)
                        started, delay = _started(task_status, started), 0.5
                        async for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                            pass
            except (DatabaseUnavailable, psycopg.Error) as exc:
                log.warning("api keys: cannot follow the table; retrying", error=first_line(exc),
                            retry_in=delay, keys_held=len(self._keys))  # fmt: skip
                started = _started(task_status, started)
            await anyio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF)

    async def _reload(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        self._keys, self._accepted = await active_keys(conn), {}
        self.reloads += 1
        for callback in tuple(self._watchers):
            callback()

    async def _flush_every(self) -> None:
        while True:
            await anyio.sleep(self.flush_interval)
            await self._flush()

    async def _flush(self) -> None:
        used, self._used = self._used, {}
        if not used:
            return
        try:
            await record_use(self.conninfo, {k: _utc(t) for k, t in used.items()})
        except (DatabaseUnavailable, psycopg.Error) as exc:
            log.warning("api keys: last_used_at not written", error=first_line(exc))
            for key_id, at in used.items():  # try again next time, newest use kept
                self._used[key_id] = max(at, self._used.get(key_id, at))


def _started(task_status: TaskStatus[None], started: bool) -> bool:
    if not started:
        task_status.started()
    return True


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
