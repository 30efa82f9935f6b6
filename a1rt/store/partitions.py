"""Daily partitions of the time-ordered tables: created ahead, dropped whole for retention.

A partition holds one UTC day and is named `<table>_pYYYYMMDD`. Creating and dropping run under
a transaction-level advisory lock, so replicas doing maintenance at the same time take turns
instead of racing on the catalog. Retention only ever drops partitions named that way, so a
partition somebody attached by hand is left alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from ..logs import get_logger
from ._connection import connect
from ._exceptions import StoreError
from .tables import PARTITIONED_TABLES, TABLES_BY_NAME, Table

log = get_logger(__name__)

LOCK_KEY_SQL = "hashtextextended('a1rt.partitions.' || current_schema(), 0)"

Connection = psycopg.AsyncConnection[Any]


def partition_name(table: str, day: date) -> str:
    """The name of `table`'s partition for `day`."""
    return f"{table}_p{day:%Y%m%d}"


def today_utc() -> date:
    """The current UTC day."""
    return datetime.now(UTC).date()


async def ensure_partitions(
    conninfo: str, days_ahead: int = 7, *, days_behind: int = 1, today: date | None = None
) -> list[str]:
    """Create the missing partitions from `days_behind` days ago to `days_ahead` days ahead of
    `today` (UTC) for every partitioned table; return the names created."""
    start = (today or today_utc()) - timedelta(days=days_behind)
    days = [start + timedelta(days=i) for i in range(days_behind + days_ahead + 1)]
    async with connect(conninfo) as conn:
        return await create_partitions(conn, PARTITIONED_TABLES, days)


async def drop_expired_partitions(
    conninfo: str,
    keep_days: int,
    *,
    tables: Iterable[str] | None = None,
    today: date | None = None,
) -> list[str]:
    """Drop the partitions of days before `today - keep_days` (so today and the `keep_days`
    days before it are kept); return the names dropped."""
    if keep_days < 0:
        raise ValueError("keep_days must not be negative")
    cutoff = (today or today_utc()) - timedelta(days=keep_days)
    chosen = _tables(tables)
    async with connect(conninfo) as conn:
        return await drop_partitions_before(conn, chosen, cutoff)


async def list_partitions(conn: Connection, table: str) -> dict[date, str]:
    """`table`'s day partitions by day (only those named `<table>_pYYYYMMDD`)."""
    cur = await conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        (table,),
    )
    found = {}
    for (name,) in await cur.fetchall():
        day = _day_of(table, str(name))
        if day is not None:
            found[day] = str(name)
    return found


async def create_partitions(
    conn: Connection, tables: Iterable[Table], days: Iterable[date]
) -> list[str]:
    """Create `tables`' partitions for `days` where missing, in one locked transaction."""
    wanted = sorted(set(days))
    created = []
    async with _maintenance(conn):
        for table in tables:
            existing = await list_partitions(conn, table.name)
            for day in wanted:
                if day not in existing:
                    await conn.execute(_create_sql(table.name, day))
                    created.append(partition_name(table.name, day))
    if created:
        log.info("partitions created", partitions=created)
    return created


async def drop_partitions_before(
    conn: Connection, tables: Iterable[Table], cutoff: date
) -> list[str]:
    """Drop `tables`' partitions of days before `cutoff`, in one locked transaction."""
    dropped = []
    async with _maintenance(conn):
        await conn.execute("SET LOCAL lock_timeout = '10s'")
        for table in tables:
            for day, name in sorted((await list_partitions(conn, table.name)).items()):
                if day < cutoff:
                    await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                    dropped.append(name)
    if dropped:
        log.info("partitions dropped", partitions=dropped)
    return dropped


@asynccontextmanager
async def _maintenance(conn: Connection) -> AsyncIterator[None]:
    """One transaction holding the partition advisory lock; psycopg's errors other than a lost
    connection become StoreError."""
    try:
        async with conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})")
            yield
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        raise StoreError(f"partition maintenance failed: {exc}") from exc


def _create_sql(table: str, day: date) -> sql.Composed:
    lower = datetime(day.year, day.month, day.day, tzinfo=UTC)
    upper = lower + timedelta(days=1)
    return sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
    ).format(
        sql.Identifier(partition_name(table, day)),
        sql.Identifier(table),
        sql.Literal(lower.isoformat()),
        sql.Literal(upper.isoformat()),
    )


def _day_of(table: str, name: str) -> date | None:
    """The day of a partition named by `partition_name`, else None."""
    digits = name.removeprefix(f"{table}_p")
    if len(digits) != 8 or not digits.isdigit() or digits == name:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _tables(names: Iterable[str] | None) -> list[Table]:
    if names is None:
        return list(PARTITIONED_TABLES)
    wanted = list(names)
    unknown = [n for n in wanted if n not in {t.name for t in PARTITIONED_TABLES}]
    if unknown:
        raise ValueError(f"not a partitioned table: {', '.join(unknown)}")
    return [TABLES_BY_NAME[name] for name in wanted]
