"""The persister's tuning: batching, memory bound, retries, partition maintenance."""

from __future__ import annotations

from dataclasses import dataclass

from actors import Backoff, Overflow


@dataclass(frozen=True, slots=True)
class PersisterConfig:
    """How the persister batches, bounds its memory, retries and maintains partitions."""

    batch_rows: int = 5000  # a table's buffer becomes a batch at this many rows...
    flush_interval: float = 0.2  # ...or at the next flush, every this many seconds
    max_pending_rows: int = 100_000  # rows in memory beyond which the newest go to the journal
    writers: int = 2  # batches written at once, one pooled connection each
    mailbox_capacity: int = 100_000
    overflow: Overflow = Overflow.FAIL  # a full mailbox refuses loudly; the handler never waits
    connect_timeout: float = 2.0  # wait for a pooled connection before counting a failure
    write_timeout: float = 30.0  # one batch, from connection to commit
    retry: Backoff = Backoff(base=0.05, cap=5.0)  # between failed attempts of one writer
    drain_timeout: float = 3.0  # on stop, for the last batches; the rest go to the journal
    migrate: bool = True  # apply migrations when the database is first reached
    days_ahead: int = 3  # partitions kept created ahead of today
    keep_days: int | None = None  # drop partitions older than this (None: keep everything)
    maintenance_interval: float = 3600.0  # partitions ahead / retention, every this many seconds

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.writers < 1 or self.mailbox_capacity < 1:
            raise ValueError("batch_rows, writers and mailbox_capacity must be at least 1")
        if self.max_pending_rows < 2 * self.batch_rows:
            raise ValueError("max_pending_rows must hold at least two batches")
        if min(self.flush_interval, self.connect_timeout, self.write_timeout) <= 0:
            raise ValueError("flush_interval and the timeouts must be positive")
        if self.keep_days is not None and self.keep_days < 0:
            raise ValueError("keep_days must not be negative")
