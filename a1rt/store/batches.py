"""Rows waiting to be written: an open buffer per table, and sealed batches queued for writers.

A buffer is sealed into a batch when it reaches the batch size, or on a flush. Writers take
batches from the front; a batch that failed goes back to the front; when memory runs over its
bound, the newest batches are taken from the back to be journalled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import anyio

from .journal import Segment
from .rows import Row
from .tables import Table


@dataclass(eq=False, slots=True)
class Batch:
    """Rows for one table, written (or journalled) together."""

    table: Table
    rows: list[Row]
    attempts: int = 0  # failed write attempts so far
    segment: Segment | None = None  # the journal segment it was replayed from

    @property
    def fresh(self) -> bool:
        """Never tried and not from the journal, so none of its rows can be in the table yet
        (unless a producer reused an id)."""
        return self.attempts == 0 and self.segment is None


class PendingRows:
    """The persister's rows in memory, from arrival until a writer or the journal has them."""

    def __init__(self, batch_rows: int) -> None:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.batch_rows = batch_rows
        self._open: dict[str, tuple[Table, list[Row]]] = {}
        self._queue: deque[Batch] = deque()
        self._queued_rows = 0
        self._open_rows = 0
        self.in_flight = 0  # rows a writer is writing now
        self._ready = anyio.Event()

    @property
    def total(self) -> int:
        """Every row held in memory: open, queued and in flight."""
        return self._open_rows + self._queued_rows + self.in_flight

    @property
    def queued(self) -> int:
        """Rows sealed into batches that no writer has taken yet (not the open buffers)."""
        return self._queued_rows

    def add(self, table: Table, row: Row) -> None:
        """Buffer one row, sealing the table's buffer into a batch when it is full."""
        entry = self._open.get(table.name)
        if entry is None:
            entry = self._open[table.name] = (table, [])
        entry[1].append(row)
        self._open_rows += 1
        if len(entry[1]) >= self.batch_rows:
            self._seal(table.name)

    def seal_all(self) -> None:
        """Seal every open buffer (a flush), and wake the writers even if there was none."""
        for name in list(self._open):
            self._seal(name)
        self._ready.set()

    def push(self, batch: Batch) -> None:
        """Queue a batch at the back (one replayed from the journal)."""
        self._queue.append(batch)
        self._queued_rows += len(batch.rows)
        self._ready.set()

    def take(self) -> Batch | None:
        """The oldest queued batch, now in flight; None if none is queued."""
        if not self._queue:
            return None
        batch = self._queue.popleft()
        self._queued_rows -= len(batch.rows)
        self.in_flight += len(batch.rows)
        return batch

    def done(self, batch: Batch) -> None:
        """A batch taken by `take` has left memory (written, or journalled)."""
        self.in_flight -= len(batch.rows)

    def put_back(self, batch: Batch) -> None:
        """Return a batch taken by `take` to the front of the queue, to be tried again."""
        self.in_flight -= len(batch.rows)
        self._queue.appendleft(batch)
        self._queued_rows += len(batch.rows)
        self._ready.set()

    def newest(self, keep_rows: int) -> list[Batch]:
        """Seal the open buffers and remove the newest queued batches until at most `keep_rows`
        rows are held (in flight included); return them (for the journal), oldest first."""
        self.seal_all()
        taken: list[Batch] = []
        while self._queue and self.total > keep_rows:
            batch = self._queue.pop()
            self._queued_rows -= len(batch.rows)
            taken.append(batch)
        return taken[::-1]

    async def wait(self) -> None:
        """Wait until a batch is queued or a flush happens."""
        if self._queue:
            return
        if self._ready.is_set():
            self._ready = anyio.Event()
        await self._ready.wait()

    def _seal(self, name: str) -> None:
        table, rows = self._open.pop(name)
        self._open_rows -= len(rows)
        self._queue.append(Batch(table, rows))
        self._queued_rows += len(rows)
        self._ready.set()
