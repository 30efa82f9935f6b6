"""API keys in PostgreSQL: only the hash is stored, list never shows a key, revoke is final and
notified, the first start makes one admin key, `a1rt keys` prints the key alone on its last
line, and the key cache writes `last_used_at` in batches."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from a1rt.cli import main
from a1rt.store import (
    EmbeddedPostgres,
    KeyCache,
    UnknownApiKey,
    create_key,
    ensure_first_key,
    key_id_of,
    list_keys,
    migrate,
    revoke_key,
)
from a1rt.web.server import _first_key

from .test_store_database import fresh_schema, query


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


@pytest.mark.anyio
async def test_api_keys_store_only_the_hash_and_list_never_shows_the_key(conninfo: str) -> None:
    await migrate(conninfo)
    new = await create_key(conninfo, name="bot", scope="predict")
    assert new.key.startswith(f"a1rt_{new.key_id}_") and len(new.key) > 40
    assert key_id_of(new.key) == new.key_id and key_id_of("not-ours") is None
    rows = query(conninfo, "SELECT key_hash, name, scopes FROM api_keys")
    assert rows == [("sha256:" + hashlib.sha256(new.key.encode()).hexdigest(), "bot", ["predict"])]
    dump = str(query(conninfo, "SELECT * FROM api_keys"))
    assert new.key not in dump
    (listed,) = await list_keys(conninfo)
    assert (listed.key_id, listed.name, listed.scope) == (new.key_id, "bot", "predict")
    assert listed.revoked_at is None and listed.last_used_at is None
    assert new.key not in repr(listed)


@pytest.mark.anyio
async def test_api_keys_revoke_is_final_and_an_unknown_id_is_refused(conninfo: str) -> None:
    await migrate(conninfo)
    new = await create_key(conninfo)
    first = await revoke_key(conninfo, new.key_id)
    assert await revoke_key(conninfo, new.key_id) == first  # the first revocation time stays
    assert (await list_keys(conninfo))[0].revoked_at == first
    with pytest.raises(UnknownApiKey, match="no API key 'nope'"):
        await revoke_key(conninfo, "nope")


@pytest.mark.anyio
async def test_api_keys_first_key_is_an_admin_made_once_on_an_empty_table(conninfo: str) -> None:
    key = await ensure_first_key(conninfo)  # migrates a fresh database itself
    assert key is not None
    assert await ensure_first_key(conninfo) is None
    (listed,) = await list_keys(conninfo)
    assert listed.scope == "admin" and listed.key_id == key_id_of(key)


@pytest.mark.anyio
async def test_api_keys_first_start_prints_the_key_once_on_stdout(
    conninfo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    notice = "a1rt: first start: an admin API key was created (it is not shown again):"
    await _first_key(conninfo)
    out = capsys.readouterr().out
    lines = out.splitlines()  # logs may go to stdout too: the key is the line after the notice
    key = lines[lines.index(notice) + 1]
    (listed,) = await list_keys(conninfo)
    assert key_id_of(key) == listed.key_id and out.count(key) == 1  # never logged
    await _first_key(conninfo)  # the second start: nothing shown
    out = capsys.readouterr().out
    assert notice not in out and "a1rt_" not in out


def test_api_keys_cli_create_list_revoke(
    conninfo: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("A1RT_DATABASE_URL", conninfo)
    assert main(["keys", "create", "--name", "ui", "--scope", "admin"]) == 0
    out = capsys.readouterr().out.splitlines()
    key = out[-1]
    key_id = key_id_of(key)
    assert key_id is not None and key_id in out[0] and "admin" in out[0]
    assert main(["keys", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["KEY_ID", "NAME", "SCOPE", "CREATED", "LAST_USED", "REVOKED"]
    assert row.split()[:3] == [key_id, "ui", "admin"] and row.endswith(" -")
    assert key not in row
    assert main(["keys", "revoke", key_id]) == 0
    assert key_id in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    assert not capsys.readouterr().out.splitlines()[1].endswith(" -")  # a revocation time


def test_api_keys_cli_bad_input_is_one_line_and_exit_2(
    conninfo: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("A1RT_DATABASE_URL", conninfo)
    anyio.run(migrate, conninfo)  # else `keys` migrates first and logs that
    capsys.readouterr()
    assert main(["keys", "revoke", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "nope" in captured.err
    with pytest.raises(SystemExit) as exited:
        main(["keys", "create", "--scope", "root"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.anyio
async def test_api_keys_cache_follows_revocations_and_batches_last_used(conninfo: str) -> None:
    await migrate(conninfo)
    new = await create_key(conninfo, scope="predict")
    cache = KeyCache(conninfo, poll_interval=30.0, flush_interval=0.2)
    async with anyio.create_task_group() as tg:
        await tg.start(cache.run)
        assert cache.scope_of(new.key) == "predict"
        assert cache.scope_of(new.key + "x") is None
        with anyio.fail_after(5):  # written by the flush, not by the lookup
            while query(conninfo, "SELECT last_used_at FROM api_keys")[0][0] is None:
                await anyio.sleep(0.05)
        later = await create_key(conninfo, scope="read")
        await revoke_key(conninfo, new.key_id)
        with anyio.fail_after(2):  # NOTIFY, long before the 30 s poll
            while cache.scope_of(new.key) is not None or cache.scope_of(later.key) is None:
                await anyio.sleep(0.02)
        cache.request_stop()


def test_api_keys_cli_beside_a_running_embedded_server_leaves_it_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("A1RT_DATABASE_URL", raising=False)
    monkeypatch.setenv("A1RT_DATA_DIR", str(tmp_path))
    server = EmbeddedPostgres(tmp_path / "postgres")  # as `a1rt serve` runs it
    conninfo = anyio.run(server.start)
    try:
        assert main(["keys", "create", "--scope", "admin"]) == 0
        key = capsys.readouterr().out.splitlines()[-1]
        assert query(conninfo, "SELECT key_id FROM api_keys") == [(key_id_of(key),)]
        assert main(["keys", "list"]) == 0
        assert query(conninfo, "SELECT 1") == [(1,)]  # still running: not stopped by the CLI
    finally:
        anyio.run(server.stop)
