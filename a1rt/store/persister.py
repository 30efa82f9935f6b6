"""The persister: every prediction, odds snapshot, feature vector, opportunity and alert is
written to PostgreSQL in batches, and no sender ever waits for the database.

How it is built, given that an actor handles one message at a time and a write can take long:
- Senders `tell_nowait`. The handler only turns messages into rows and buffers them
  (PendingRows), so the mailbox drains at CPU speed whatever the database does. The mailbox
  policy is `fail`: a sender meets MailboxFull (counted as a drop) only if this process cannot
  even convert rows as fast as they come, which no database outage can cause.
- Batches are sealed by size in the handler, and by time: a ticker task tells the actor
  `Flush()` every flush_interval, so the buffers have one owner, the handler.
- Writer tasks (`writers`, a pooled connection each while writing) take sealed batches and
  write them (writer.py: COPY, or staging + ON CONFLICT DO NOTHING for retries and replays).
  They, the ticker and partition maintenance live in a task group opened around the actor
  loop, so they start and stop with each incarnation.
- PostgreSQL unreachable: a writer puts its batch back and retries with backoff; rows keep
  arriving and wait in memory up to max_pending_rows, beyond which the newest batches are
  appended to the journal (journal.py, fsync'd). Once writes succeed again and nothing is
  queued, writers replay the journal, oldest segment first, through the idempotent path.
- Stopping: a flush, then up to drain_timeout for the writers; whatever is still in memory
  then (database down, cancelled, crashed) goes to the journal, replayed on the next start.
"""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import anyio
import msgspec
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from actors import Actor, MailboxClosed

from ..health import HealthRegistry
from ..logs import get_logger
from ..metrics import Metrics
from ._adapt import configure_connection
from ._connection import CONNECT_TIMEOUT, first_line, normalize_conninfo
from ._exceptions import JournalError
from .batches import Batch, PendingRows
from .config import PersisterConfig
from .health import StorageHealth
from .journal import Journal, JournalEntry, Segment
from .metrics import StorageMetrics
from .migrations import apply_migrations, load_migrations
from .partitions import create_partitions, drop_partitions_before, today_utc
from .rows import Persistable, Row, to_row
from .tables import PARTITIONED_TABLES, TABLES_BY_NAME
from .writer import WriteResult, is_transient, write_batch

log = get_logger(__name__)

_HANDLE_BATCH = 1024  # messages handed to one handle_batch call
_RECONNECT_TIMEOUT = 10.0


class Flush(msgspec.Struct, frozen=True, tag=True):
    """Seal the open buffers now (the persister's ticker sends it every flush_interval)."""


PersisterMessage = Persistable | Flush
Pool = AsyncConnectionPool[AsyncConnection[Any]]


class Persister(Actor[PersisterMessage, None]):
    """Writes what it is told to PostgreSQL, in batches, idempotently, surviving outages."""

    def __init__(
        self,
        conninfo: str,
        data_dir: Path,
        *,
        config: PersisterConfig | None = None,
        health: HealthRegistry | None = None,
        metrics: Metrics | None = None,
        name: str = "persister",
    ) -> None:
        self.config = config or PersisterConfig()
        super().__init__(
            name,
            capacity=self.config.mailbox_capacity,
            overflow=self.config.overflow,
            batch=_HANDLE_BATCH,
        )
        self.conninfo = normalize_conninfo(conninfo)
        self.journal = Journal(data_dir / "journal", name)
        registry = metrics.registry if metrics is not None else CollectorRegistry()
        self.metrics = StorageMetrics(registry)
        self._pending = PendingRows(self.config.batch_rows)
        self._health = StorageHealth(health)
        self._pool: Pool | None = None
        self._schema_ready = anyio.Event()
        self._replays: dict[int, int] = {}  # segment -> its batches not yet written
        self._replay_lock = anyio.Lock()
        self._flush_sent = False
        self._draining = False
        self._writable = False  # the database took the last thing sent to it
        self._rng = random.Random()  # noqa: S311 - retry jitter
        self._progress = anyio.Event()
        self.metrics.watch_pending(lambda: self.pending_rows, lambda: self.journal.bytes)
        self.metrics.watch_pool(lambda: None if self._pool is None else self._pool.get_stats())

    @property
    def pending_rows(self) -> int:
        """Rows told but neither in the database nor in the journal yet (in the mailbox,
        buffered, queued or being written)."""
        told = self.stats().depth - int(self._flush_sent)  # a waiting Flush is not a row
        return max(0, told) + self._pending.total

    def is_idle(self) -> bool:
        """True when every row told so far is in the database: nothing in the mailbox, in
        memory or in the journal."""
        return self.pending_rows == 0 and self.journal.bytes == 0

    async def wait_idle(self) -> None:
        """Return once `is_idle` (bound it with a timeout: it waits as long as PostgreSQL is
        down)."""
        while not self.is_idle():
            await self._next_progress()

    async def wait_connected(self) -> None:
        """Return once this incarnation has reached the database (migrated, partitions made)."""
        await self._schema_ready.wait()

    async def wait_pending_below(self, rows: int) -> None:
        """Return once at most `rows` rows are pending: a producer that may wait (a backfill,
        a benchmark) paces itself with this instead of filling the journal."""
        while self.pending_rows > rows:
            await self._next_progress()

    async def _next_progress(self) -> None:
        """Wait until a batch is written or journalled, a segment removed, or a write fails."""
        await self._progress.wait()

    def _made_progress(self) -> None:
        self._progress.set()
        self._progress = anyio.Event()

    async def handle_batch(self, messages: list[PersisterMessage]) -> list[None]:
        add = self._pending.add
        for message in messages:
            match message:
                case Flush():
                    self._flush_sent = False
                    self._pending.seal_all()
                case _:
                    try:
                        add(*to_row(message))
                    except Exception as exc:  # one malformed message must not stop storage
                        self._refuse(message, exc)
        if self._pending.total > self.config.max_pending_rows:
            await self._to_journal(self._pending.newest(self.config.max_pending_rows // 2))
        return [None] * len(messages)

    def _refuse(self, message: object, exc: Exception) -> None:
        log.error("message cannot be stored", type=type(message).__name__, error=repr(exc))
        self.metrics.rejected.labels("unstorable").inc()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """One incarnation: the actor loop, with the writers, ticker and maintenance beside it."""
        if self._schema_ready.is_set():
            self._schema_ready = anyio.Event()
        self._draining = self._flush_sent = self._writable = False
        self.journal.claim()
        self._pool = self._new_pool()
        try:
            await self._pool.open(wait=False)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._maintain)
                for _ in range(self.config.writers):
                    tg.start_soon(self._write_loop)
                tg.start_soon(self._tick)
                await super().run(task_status=task_status)
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._to_journal(self._pending.newest(0))
                await self._pool.close(timeout=self.config.drain_timeout)
                self._pool = None
                self.journal.release()

    # -- writers

    async def _write_loop(self) -> None:
        await self._schema_ready.wait()
        failures = 0
        while True:
            batch = await self._next_batch()
            try:
                written = await self._write(batch)
            except BaseException:
                self._pending.put_back(batch)  # journalled on the way out
                raise
            if written:
                failures = 0
                continue
            self._pending.put_back(batch)
            await anyio.sleep(self.config.retry.delay(failures, self._rng))
            failures += 1

    async def _next_batch(self) -> Batch:
        while True:
            batch = self._pending.take()
            if batch is not None:
                return batch
            if not (self._writable and not self._draining and await self._replay_segment()):
                await self._pending.wait()

    async def _write(self, batch: Batch) -> bool:
        """Write one batch; False if it must be retried later."""
        try:
            with anyio.fail_after(self.config.write_timeout):
                async with self._connection() as conn:
                    result = await write_batch(conn, batch, self.metrics)
        except Exception as exc:
            if not is_transient(exc):
                raise
            batch.attempts += 1
            self.metrics.retried.labels(batch.table.name).inc(len(batch.rows))
            self._unreachable(exc)
            self._made_progress()
            return False
        self._pending.done(batch)
        self._count(batch, result)
        self._writable = True
        self._health.writing()
        if batch.segment is not None:
            await self._replayed(batch.segment)
        self._made_progress()
        return True

    def _count(self, batch: Batch, result: WriteResult) -> None:
        table = batch.table.name
        written = len(batch.rows) - result.rejected
        self.metrics.written.labels(table).inc(written)
        if written > result.inserted:
            self.metrics.duplicates.labels(table).inc(written - result.inserted)
        if result.rejected:
            self.metrics.rejected.labels(table).inc(result.rejected)

    def _unreachable(self, exc: BaseException) -> None:
        if self._writable:
            log.warning("PostgreSQL unreachable; keeping rows", error=first_line(exc))
        self._writable = False
        self._health.unreachable(first_line(exc))

    # -- the journal

    async def _to_journal(self, batches: list[Batch]) -> None:
        if not batches:
            return
        try:
            await self.journal.append([JournalEntry(b.table.name, list(b.rows)) for b in batches])
        except JournalError as exc:
            log.error("journal unwritable; keeping rows in memory", error=str(exc))
            self._health.journal_failed(str(exc))
            for batch in batches:
                self._pending.push(batch)
            return
        for batch in batches:
            self.metrics.journalled.labels(batch.table.name).inc(len(batch.rows))
            if batch.segment is not None:  # kept in the new segment now
                await self._replayed(batch.segment)
        self._made_progress()

    async def _replay_segment(self) -> bool:
        """Queue the batches of the oldest journal segment; False if there is none."""
        async with self._replay_lock:
            if self._pending.queued:  # another writer queued one meanwhile
                return True
            segment = await self.journal.next_segment()
            if segment is None:
                return False
            try:
                entries = await self.journal.read(segment)
            except JournalError as exc:  # left on disk for a person; not handed out again
                log.error("journal segment unreadable", segment=str(segment.path), error=str(exc))
                self._health.journal_failed(str(exc))
                return False
            batches = [_replay_batch(entry, segment) for entry in entries]
            known = [b for b in batches if b is not None]
            if not known:
                await self.journal.remove(segment)
                return True
            self._replays[segment.sequence] = len(known)
            for batch in known:
                self.metrics.replayed.labels(batch.table.name).inc(len(batch.rows))
                self._pending.push(batch)
            log.info("replaying journal segment", segment=segment.path.name, batches=len(known))
            return True

    async def _replayed(self, segment: Segment) -> None:
        left = self._replays[segment.sequence] - 1
        if left:
            self._replays[segment.sequence] = left
            return
        del self._replays[segment.sequence]
        await self.journal.remove(segment)

    # -- ticking, maintenance, stopping

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(self.config.flush_interval)
            if not self._flush_sent and self.stats().depth < self.config.mailbox_capacity:
                self._flush_sent = True
                with contextlib.suppress(MailboxClosed):
                    self.tell_nowait(Flush())

    async def _maintain(self) -> None:
        """Reach the database (migrations, partitions ahead) with backoff, then keep the
        partitions maintained."""
        failures = 0
        while not await self._maintain_once(migrate=self.config.migrate):
            await anyio.sleep(self.config.retry.delay(failures, self._rng))
            failures += 1
        self._writable = True
        self._health.writing()
        self._schema_ready.set()
        while True:
            await anyio.sleep(self.config.maintenance_interval)
            await self._maintain_once(migrate=False)

    async def _maintain_once(self, *, migrate: bool) -> bool:
        today = today_utc()
        days = [today + timedelta(days=i) for i in range(-1, self.config.days_ahead + 1)]
        try:
            with (
                anyio.fail_after(self.config.write_timeout),
                self.metrics.query_seconds.labels("maintenance").time(),
            ):
                async with self._connection() as conn:
                    if migrate:
                        await apply_migrations(conn, load_migrations())
                    await create_partitions(conn, PARTITIONED_TABLES, days)
                    if self.config.keep_days is not None:
                        cutoff = today - timedelta(days=self.config.keep_days)
                        await drop_partitions_before(conn, PARTITIONED_TABLES, cutoff)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._unreachable(exc)
            return False
        return True

    async def _drain(self) -> None:
        """Flush, and give the writers up to drain_timeout to write what is left."""
        self._draining = True
        self._pending.seal_all()
        with anyio.move_on_after(self.config.drain_timeout):
            while self._pending.total and self._writable:
                await self._next_progress()

    def _connection(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection[Any]]:
        assert self._pool is not None  # noqa: S101 - only used while running
        return self._pool.connection(timeout=self.config.connect_timeout)

    def _new_pool(self) -> Pool:
        return AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.config.writers + 1,
            open=False,
            timeout=self.config.connect_timeout,
            # Give up on a lost connection soon, so the pool's reconnection backoff (doubling
            # from 1 s) never grows past a few seconds: writers asking for a connection then
            # make it grow again, at their own pace, and a long outage ends without a long lag.
            reconnect_timeout=_RECONNECT_TIMEOUT,
            name=self.name,
            configure=_configure,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT,
                "application_name": f"a1rt-{self.name}",
            },
        )


async def _configure(conn: AsyncConnection[Any]) -> None:
    configure_connection(conn)


def _replay_batch(entry: JournalEntry, segment: Segment) -> Batch | None:
    table = TABLES_BY_NAME.get(entry.table)
    if table is None:
        log.error("journal entry for an unknown table skipped", table=entry.table)
        return None
    return Batch(table, cast(list[Row], entry.rows), segment=segment)
