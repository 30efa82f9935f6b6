"""Writing one batch into its table, idempotently.

- A fresh batch (first attempt, not from the journal) is COPYed straight into the table: its
  ids were decided before the write and have never been written, so there is nothing to
  conflict with, and COPY is the fastest way in.
- Any other batch (a retry, whose earlier attempt may have committed before the connection
  dropped; or a journal replay) is COPYed into a temporary staging table and moved across with
  `INSERT … ON CONFLICT DO NOTHING`, so rows already there are skipped. A fresh batch that
  meets a duplicate key anyway (a producer that reused an id) takes this path too.
- A row whose day has no partition yet makes the server refuse the batch; the missing
  partitions are created and the batch written again.
- A batch refused for its content (a constraint, a value psycopg cannot send or PostgreSQL
  cannot take) is written row by row, so only the offending rows are rejected (and logged).
Errors that mean the connection is gone propagate: the caller keeps the batch and retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import errors, sql

from ..logs import get_logger
from .batches import Batch
from .metrics import StorageMetrics
from .partitions import create_partitions
from .rows import Row
from .tables import Table

log = get_logger(__name__)

Connection = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What became of a batch's rows."""

    inserted: int  # new rows (the rest were already there, or rejected)
    rejected: int  # rows PostgreSQL refused for their content


def is_transient(exc: BaseException) -> bool:
    """True for errors that say nothing about the rows: the connection, the server, time."""
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | TimeoutError)


async def write_batch(conn: Connection, batch: Batch, metrics: StorageMetrics) -> WriteResult:
    """Write `batch` on `conn` (autocommit); transient errors propagate."""
    try:
        return WriteResult(await _write_creating_partitions(conn, batch, metrics), 0)
    except Exception as exc:  # the server's refusal, or a value psycopg cannot send
        if is_transient(exc):
            raise
        log.warning("batch refused, writing it row by row", table=batch.table.name, error=str(exc))
    return await _write_row_by_row(conn, batch, metrics)


async def _write_creating_partitions(conn: Connection, batch: Batch, m: StorageMetrics) -> int:
    try:
        return await _write(conn, batch, m)
    except errors.CheckViolation as exc:
        if batch.table.partitioned_by is None or not _no_partition(exc):
            raise
    await _create_partitions_for(conn, batch.table, batch.rows, m)
    return await _write(conn, batch, m)


async def _write(conn: Connection, batch: Batch, metrics: StorageMetrics) -> int:
    """Rows inserted."""
    if batch.fresh:
        try:
            with metrics.query_seconds.labels(f"copy:{batch.table.name}").time():
                await _copy(conn, batch.table, batch.rows, batch.table.name)
            return len(batch.rows)
        except errors.UniqueViolation:
            log.info("fresh batch met existing ids; deduplicating", table=batch.table.name)
    with metrics.query_seconds.labels(f"upsert:{batch.table.name}").time():
        return await _upsert(conn, batch.table, batch.rows)


async def _copy(conn: Connection, table: Table, rows: list[Row], target: str) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(target), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    async with conn.cursor().copy(statement) as copy:
        copy.set_types(list(table.types))
        for row in rows:
            await copy.write_row(row)


async def _upsert(conn: Connection, table: Table, rows: list[Row]) -> int:
    stage = f"a1rt_stage_{table.name}"
    columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
    async with conn.transaction():
        await conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            ).format(sql.Identifier(stage), sql.Identifier(table.name))
        )
        await _copy(conn, table, rows, stage)
        cur = await conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                sql.Identifier(table.name), columns, columns, sql.Identifier(stage)
            )
        )
        return max(cur.rowcount, 0)


async def _write_row_by_row(conn: Connection, batch: Batch, m: StorageMetrics) -> WriteResult:
    table = batch.table
    if table.partitioned_by is not None:
        await _create_partitions_for(conn, table, batch.rows, m)
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(map(sql.Identifier, table.columns)),
        sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Placeholder(), sql.Identifier(kind))
            for kind in table.types
        ),
    )
    inserted = rejected = 0
    for row in batch.rows:
        try:
            with m.query_seconds.labels(f"insert_row:{table.name}").time():
                cur = await conn.execute(statement, row)
            inserted += max(cur.rowcount, 0)
        except Exception as exc:
            if is_transient(exc):
                raise
            rejected += 1
            log.error("row rejected", table=table.name, id=str(row[0]), error=str(exc))
    return WriteResult(inserted, rejected)


async def _create_partitions_for(
    conn: Connection, table: Table, rows: list[Row], metrics: StorageMetrics
) -> None:
    with metrics.query_seconds.labels("partitions").time():
        await create_partitions(conn, [table], _days(table, rows))


def _days(table: Table, rows: list[Row]) -> set[date]:
    index = table.time_index
    days = set()
    for row in rows:
        moment = row[index]
        if isinstance(moment, datetime):
            days.add(moment.astimezone(UTC).date())
    return days


def _no_partition(exc: errors.CheckViolation) -> bool:
    return (exc.diag.message_primary or "").startswith("no partition of relation")
