"""The database the store tests run against, and the migrations.

Tests use A1RT_DATABASE_URL when it is set (CI's server) and otherwise one embedded server
started for the whole session; each test gets a fresh schema of its own (search_path), so no
test sees another's rows. Other test modules import the fixtures from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from a1rt.store import (
    WRITTEN_TABLES,
    DatabaseUnavailable,
    EmbeddedPostgres,
    MigrationChanged,
    MigrationError,
    load_migrations,
    migrate,
    normalize_conninfo,
)
from a1rt.store.migrations import Migration

ROOT = Path(__file__).resolve().parents[2]
_SERVER = pytest.StashKey[str]()
TABLES = {
    "predictions",
    "odds_snapshots",
    "feature_store",
    "betting_opportunities",
    "model_performance",
    "system_alerts",
    "bet_history",
    "api_keys",
    "event_results",
}


def _session_server(request: pytest.FixtureRequest) -> str:
    """One server for the whole session, whichever module asks first; stopped when the
    session's tests are torn down."""
    config = request.config
    if _SERVER in config.stash:
        return config.stash[_SERVER]
    url = os.environ.get("A1RT_DATABASE_URL")
    if url:
        config.stash[_SERVER] = normalize_conninfo(url)
        return config.stash[_SERVER]
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    server = EmbeddedPostgres(factory.mktemp("session-pg") / "postgres")
    config.stash[_SERVER] = anyio.run(server.start)
    request.session.addfinalizer(lambda: anyio.run(server.stop))
    return config.stash[_SERVER]


def fresh_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """The body of each module's `conninfo` fixture: a fresh, empty schema of the test's own
    on the session's server."""
    with schema_for(_session_server(request)) as scoped:
        yield scoped


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


@contextmanager
def schema_for(server: str) -> Iterator[str]:
    """A new schema on `server`, dropped on exit; yields a conninfo whose search_path is it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}".encode())
    try:
        yield make_conninfo(server, options=f"-c search_path={name}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE".encode())


def query(conninfo: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement in the test's schema and return its rows."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(sql.encode(), params)
        return cur.fetchall() if cur.description else []


def closed_port_conninfo() -> str:
    """A conninfo nothing answers on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2"


def _tables(conninfo: str) -> set[str]:
    rows = query(
        conninfo,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
    )
    return {str(name) for (name,) in rows}


# -- migrations


def test_load_migrations_ordered_and_checksummed() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert [m.filename for m in migrations][0] == "0001_time_series.sql"
    assert all(len(m.checksum) == 64 for m in migrations)


@pytest.mark.anyio
async def test_migrate_from_empty_creates_every_table(conninfo: str) -> None:
    applied = await migrate(conninfo)
    assert applied == [m.filename for m in load_migrations()]
    assert _tables(conninfo) == TABLES | {"schema_migrations"}
    partitioned = query(
        conninfo,
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()",
    )
    assert {str(name) for (name,) in partitioned} == {
        "predictions",
        "odds_snapshots",
        "feature_store",
    }
    recorded = query(conninfo, "SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert recorded == [(m.version, m.checksum) for m in load_migrations()]


@pytest.mark.anyio
async def test_migrate_rerun_applies_nothing(conninfo: str) -> None:
    await migrate(conninfo)
    assert await migrate(conninfo) == []
    assert len(query(conninfo, "SELECT * FROM schema_migrations")) == len(load_migrations())


@pytest.mark.anyio
async def test_migrate_refuses_a_changed_applied_migration(conninfo: str) -> None:
    await migrate(conninfo)
    edited = [
        Migration(m.version, m.name, m.sql + "\n-- edited\n") if m.version == 1 else m
        for m in load_migrations()
    ]
    with pytest.raises(MigrationChanged, match="0001_time_series.sql was edited"):
        await migrate(conninfo, edited)


@pytest.mark.anyio
async def test_migrate_failed_file_rolls_back_and_is_not_recorded(conninfo: str) -> None:
    broken = [Migration(1, "broken", "CREATE TABLE half_done (id int);\nSELECT * FROM nowhere;")]
    with pytest.raises(MigrationError, match="0001_broken.sql failed"):
        await migrate(conninfo, broken)
    assert "half_done" not in _tables(conninfo)
    assert query(conninfo, "SELECT * FROM schema_migrations") == []


@pytest.mark.anyio
async def test_migrate_unreachable_database_raises_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable, match="cannot connect"):
        await migrate(closed_port_conninfo())


def test_migrate_concurrent_processes_apply_each_file_once(conninfo: str) -> None:
    # Hold the migration lock while both processes start, so they really race for it.
    lock = "SELECT pg_advisory_lock(hashtextextended('a1rt.migrations.' || current_schema(), 0))"
    with psycopg.connect(conninfo, autocommit=True) as holder:
        holder.execute(lock.encode())
        code = (
            "import anyio, sys; from a1rt.store import migrate; "
            "print(len(anyio.run(migrate, sys.argv[1])))"
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, conninfo],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        _wait_for_lock_waiters(conninfo, 2, timeout=30)
        holder.execute(lock.replace("pg_advisory_lock", "pg_advisory_unlock").encode())
    outputs = [p.communicate(timeout=30) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # Each file is applied by whichever process gets the lock first for it: between them, once.
    applied = [int(out.split()[-1]) for out, _ in outputs]  # the last line is the count
    assert sum(applied) == len(load_migrations())
    assert len(query(conninfo, "SELECT * FROM schema_migrations")) == len(load_migrations())
    assert _tables(conninfo) == TABLES | {"schema_migrations"}


def _wait_for_lock_waiters(conninfo: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    dbname = conninfo_to_dict(conninfo).get("dbname")
    while time.monotonic() < deadline:
        waiting = query(
            conninfo,
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = %s",
            (dbname,),
        )
        if waiting[0][0] == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} processes never waited for the migration lock")


@pytest.mark.anyio
async def test_tables_match_the_migrated_columns(conninfo: str) -> None:
    await migrate(conninfo)
    for table in WRITTEN_TABLES:
        rows = query(
            conninfo,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            (table.name,),
        )
        actual = {str(name): str(kind) for name, kind in rows}
        aliases = {"float8": "double precision", "timestamptz": "timestamp with time zone"}
        expected = {c: aliases.get(t, t) for c, t in zip(table.columns, table.types, strict=True)}
        assert {c: actual.get(c) for c in table.columns} == expected, table.name


def test_normalize_conninfo_drops_a_sqlalchemy_driver() -> None:
    url = "postgresql+asyncpg://a1:secret@db:5432/a1betting"
    assert normalize_conninfo(url) == "postgresql://a1:secret@db:5432/a1betting"
    assert normalize_conninfo(" host=x dbname=y ") == "host=x dbname=y"
