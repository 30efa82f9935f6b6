"""Prediction rows into PostgreSQL through the persister, against a bare psycopg COPY of the
same rows into the same table, in the same run.

The database is A1RT_DATABASE_URL when set, otherwise an embedded server in a temporary
directory. Each round empties the table and writes the same predictions twice, interleaved
(so drift on a shared machine hits both alike): once as one bare COPY on one connection
(converting each prediction to its row inside the timing, as any writer must), and once
through a running persister, from the first `tell` until every row is committed. The
persister runs its production defaults except for the mailbox policy: the producer here is
a tight loop, so it waits for room (`block`) and paces itself to the persister's memory bound
instead of spilling to the journal.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import psycopg
from psycopg.conninfo import make_conninfo

from a1rt.messages import Prediction
from a1rt.store import (
    EmbeddedPostgres,
    Persister,
    PersisterConfig,
    configure_connection,
    ensure_partitions,
    migrate,
)
from a1rt.store.rows import prediction_row
from a1rt.store.tables import PREDICTIONS
from actors import Overflow

COPY_SQL = f"COPY predictions ({', '.join(PREDICTIONS.columns)}) FROM STDIN (FORMAT BINARY)"


def predictions(n: int) -> list[Prediction]:
    """`n` predictions shaped like a three-member ensemble's, one event in 500 per row."""
    now = datetime.now(UTC)
    members = {
        name: {"home": 0.5 + d, "away": 0.5 - d}
        for name, d in (("xgb", 0.01), ("lgb", -0.02), ("mlp", 0.03))
    }
    return [
        Prediction(
            prediction_id=str(uuid.uuid4()),
            model="nba_h2h",
            version="20260101T000000",
            probabilities={"home": 0.55, "away": 0.45},
            confidence=0.1,
            created_at=now + timedelta(microseconds=i),
            event_id=f"nba-{i % 500}",
            members=members,
        )
        for i in range(n)
    ]


async def bare_copy(conninfo: str, rows: list[Prediction]) -> float:
    """Rows per second through one COPY on one connection."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        configure_connection(conn)
        started = time.perf_counter()
        async with conn.cursor().copy(COPY_SQL) as copy:
            copy.set_types(list(PREDICTIONS.types))
            for prediction in rows:
                await copy.write_row(prediction_row(prediction))
        return len(rows) / (time.perf_counter() - started)


async def through_persister(conninfo: str, rows: list[Prediction], data_dir: Path) -> float:
    """Rows per second from the first `tell` until the persister has committed them all."""
    config = PersisterConfig(overflow=Overflow.BLOCK)
    persister = Persister(conninfo, data_dir, config=config)
    pace = config.max_pending_rows // 2
    async with anyio.create_task_group() as tg:
        await tg.start(persister.run)
        with anyio.fail_after(30):
            await persister.wait_connected()
        started = time.perf_counter()
        for i, prediction in enumerate(rows):
            if i % 1000 == 0:
                await persister.wait_pending_below(pace)
            await persister.tell(prediction)
        with anyio.fail_after(300):
            await persister.wait_idle()
        elapsed = time.perf_counter() - started
        persister.request_stop()
    written = persister.metrics.registry.get_sample_value(
        "a1rt_storage_rows_written_total", {"table": "predictions"}
    )
    assert written == len(rows), (written, len(rows))
    return len(rows) / elapsed


@asynccontextmanager
async def database(tmp: Path) -> AsyncIterator[tuple[str, str]]:
    """(conninfo, where) of a fresh schema in the bench database, dropped afterwards."""
    url = os.environ.get("A1RT_DATABASE_URL")
    if url:
        async with scratch_schema(url) as conninfo:
            yield conninfo, "A1RT_DATABASE_URL"
        return
    async with EmbeddedPostgres(tmp / "postgres") as server:
        async with scratch_schema(server.conninfo) as conninfo:
            yield conninfo, "embedded"


@asynccontextmanager
async def scratch_schema(conninfo: str) -> AsyncIterator[str]:
    schema = f"bench_storage_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield make_conninfo(conninfo, options=f"-c search_path={schema}")
        finally:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def _measure(quick: bool, smoke: bool = False) -> dict[str, Any]:
    n = 5_000 if smoke else 200_000 if quick else 1_000_000
    rounds = 1 if smoke else 3 if quick else 5
    rows = predictions(n)
    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp)) as (conninfo, where):
            await migrate(conninfo)
            await ensure_partitions(conninfo, days_ahead=1)
            server = await _server_version(conninfo)
            persisted, copied = [], []
            for r in range(rounds):
                await _truncate(conninfo)
                copied.append(await bare_copy(conninfo, rows))
                await _truncate(conninfo)
                persisted.append(await through_persister(conninfo, rows, Path(tmp) / f"r{r}"))
    rate, baseline = statistics.median(persisted), statistics.median(copied)
    return {
        "config": {"rows": n, "rounds": rounds, "database": where, "server": server,
                   "loop": "uvloop", "persister": "defaults, overflow=block"},
        "persister_rows_per_s": round(rate),
        "bare_copy_rows_per_s": round(baseline),
        "ratio": round(rate / baseline, 3),
        "rounds_persister": [round(x) for x in persisted],
        "rounds_bare_copy": [round(x) for x in copied],
        "targets": {
            "rows_per_s_at_least": 100_000,
            "ratio_at_least": 0.5,
            "rows_met": rate >= 100_000,
            "ratio_met": rate / baseline >= 0.5,
        },
    }  # fmt: skip


async def _truncate(conninfo: str) -> None:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("TRUNCATE predictions")
        await conn.execute("VACUUM ANALYZE predictions")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            await conn.execute("CHECKPOINT")  # so no round pays for another's dirty pages


async def _server_version(conninfo: str) -> str:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute("SHOW server_version")
        row = await cur.fetchone()
        return str(row[0]) if row else "unknown"


def run(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Measure and return the figures (``smoke``: 5,000 rows once, to prove it runs)."""
    options = {"use_uvloop": True}
    result: dict[str, Any] = anyio.run(_measure, quick, smoke, backend_options=options)
    return result
