from __future__ import annotations

import pytest

from a1rt.cli import main

from .test_store_database import _tables, fresh_schema, query


@pytest.fixture
def conninfo(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from fresh_schema(request)


def test_store_cli_migrate_applies_then_reports_nothing_new(
    conninfo: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("A1RT_DATABASE_URL", conninfo)
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert "applied 0001" in first and "created predictions_p" in first
    assert {"predictions", "bet_history", "api_keys"} <= _tables(conninfo)
    assert main(["migrate"]) == 0
    assert "applied" not in capsys.readouterr().out


def test_store_cli_cleanup_drops_only_partitions_past_retention(
    conninfo: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("A1RT_DATABASE_URL", conninfo)
    assert main(["migrate"]) == 0
    query(conninfo, "CREATE TABLE predictions_p20000101 PARTITION OF predictions "
                    "FOR VALUES FROM ('2000-01-01') TO ('2000-01-02')")  # fmt: skip
    capsys.readouterr()
    assert main(["cleanup", "--keep-days", "7"]) == 0
    out = capsys.readouterr().out
    assert "dropped predictions_p20000101" in out
    assert "predictions" in _tables(conninfo)
    assert main(["cleanup", "--keep-days", "-1"]) == 2


def test_store_cli_unreachable_database_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_store_database import closed_port_conninfo

    monkeypatch.setenv("A1RT_DATABASE_URL", closed_port_conninfo())
    assert main(["migrate"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PostgreSQL" in err
