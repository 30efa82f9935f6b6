"""The embedded PostgreSQL server: created on first use, stopped cleanly, restarted with its
data, adopted when left running, and its failures reported as the store's own errors."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from a1rt.config import load_settings
from a1rt.store import (
    DatabaseUnavailable,
    EmbeddedPostgres,
    EmbeddedServerError,
    database_conninfo,
    migrate,
)


async def _unreachable(conninfo: str) -> bool:
    try:
        await migrate(conninfo)
    except DatabaseUnavailable:
        return True
    return False


@pytest.mark.anyio
async def test_embedded_starts_stops_and_keeps_its_data(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "postgres")
    with pytest.raises(EmbeddedServerError, match="not running"):
        server.conninfo  # noqa: B018 - the property is what is tested
    conninfo = await server.start()
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
    port = server.port
    await server.stop()
    assert await _unreachable(conninfo)

    assert await server.start() == conninfo and server.port == port  # same port again
    try:
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            assert await (await conn.execute("SELECT x FROM kept")).fetchall() == [(7,)]
    finally:
        await server.stop()


@pytest.mark.anyio
async def test_embedded_adopts_a_server_left_running(tmp_path: Path) -> None:
    first = EmbeddedPostgres(tmp_path / "postgres")
    conninfo = await first.start()
    try:
        adopted = EmbeddedPostgres(tmp_path / "postgres")  # e.g. after the first process died
        assert await adopted.start() == conninfo
        await adopted.stop()
        assert await _unreachable(conninfo)
    finally:
        await first.stop()  # already stopped: a no-op


@pytest.mark.anyio
async def test_embedded_failure_is_an_embedded_server_error(tmp_path: Path) -> None:
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    (pgdata / "not-a-cluster.txt").write_text("something else lives here")
    with pytest.raises(EmbeddedServerError, match="initdb failed"):
        await EmbeddedPostgres(pgdata).start()


@pytest.mark.anyio
async def test_database_conninfo_uses_the_url_or_runs_an_embedded_server(tmp_path: Path) -> None:
    legacy = load_settings({"A1BETTING_DATABASE_URL": "postgresql+asyncpg://a1@db/a1betting"})
    async with database_conninfo(legacy) as conninfo:
        assert conninfo == "postgresql://a1@db/a1betting"

    settings = load_settings({"A1RT_DATA_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="boom"):
        async with database_conninfo(settings) as conninfo:
            assert await migrate(conninfo)  # a working server under data_dir/postgres
            raise RuntimeError("boom")
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
    assert await _unreachable(conninfo)  # stopped on the way out, exception and all
