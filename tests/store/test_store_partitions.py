"""Daily partitions: created ahead, rows routed by UTC day, retention drops whole days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from a1rt.store import (
    PARTITIONED_TABLES,
    DatabaseUnavailable,
    drop_expired_partitions,
    ensure_partitions,
    migrate,
    partition_name,
)

from .test_store_database import closed_port_conninfo, fresh_schema, query


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


TODAY = date(2026, 3, 10)


def _partitions(conninfo: str, table: str) -> list[str]:
    rows = query(
        conninfo,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s) ORDER BY 1",
        (table,),
    )
    return [str(name) for (name,) in rows]


def _insert_prediction(conninfo: str, prediction_id: str, created_at: datetime) -> None:
    query(
        conninfo,
        "INSERT INTO predictions (prediction_id, created_at, model, version, probabilities, "
        "confidence) VALUES (%s, %s, 'm', 'v', '{}', 0.5)",
        (prediction_id, created_at),
    )


@pytest.mark.anyio
async def test_ensure_partitions_creates_the_days_ahead_once(conninfo: str) -> None:
    await migrate(conninfo)
    created = await ensure_partitions(conninfo, days_ahead=2, days_behind=1, today=TODAY)
    days = [TODAY + timedelta(days=d) for d in (-1, 0, 1, 2)]
    for table in PARTITIONED_TABLES:
        assert _partitions(conninfo, table.name) == [partition_name(table.name, d) for d in days]
    assert len(created) == 4 * len(PARTITIONED_TABLES)
    assert await ensure_partitions(conninfo, days_ahead=2, days_behind=1, today=TODAY) == []


@pytest.mark.anyio
async def test_partition_rows_are_routed_by_utc_day(conninfo: str) -> None:
    await migrate(conninfo)
    await ensure_partitions(conninfo, days_ahead=1, days_behind=0, today=TODAY)
    midnight = datetime(2026, 3, 11, tzinfo=UTC)
    _insert_prediction(conninfo, "before", midnight - timedelta(microseconds=1))
    _insert_prediction(conninfo, "at", midnight)
    rows = query(conninfo, "SELECT prediction_id, tableoid::regclass::text FROM predictions")
    assert dict(rows) == {"before": "predictions_p20260310", "at": "predictions_p20260311"}


@pytest.mark.anyio
async def test_retention_drops_only_partitions_older_than_kept_days(conninfo: str) -> None:
    await migrate(conninfo)
    await ensure_partitions(conninfo, days_ahead=1, days_behind=5, today=TODAY)
    for back in range(6):
        day = TODAY - timedelta(days=back)
        _insert_prediction(
            conninfo, f"p{back}", datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        )
    query(
        conninfo,
        "CREATE TABLE predictions_archive PARTITION OF predictions "
        "FOR VALUES FROM ('2000-01-01+00') TO ('2001-01-01+00')",
    )

    dropped = await drop_expired_partitions(conninfo, keep_days=3, today=TODAY)

    old = [TODAY - timedelta(days=d) for d in (5, 4)]
    assert sorted(dropped) == sorted(
        partition_name(t.name, d) for t in PARTITIONED_TABLES for d in old
    )
    kept = [TODAY + timedelta(days=d) for d in (-3, -2, -1, 0, 1)]
    assert _partitions(conninfo, "predictions") == sorted(
        ["predictions_archive", *(partition_name("predictions", d) for d in kept)]
    )
    remaining = query(conninfo, "SELECT prediction_id FROM predictions ORDER BY 1")
    assert [r[0] for r in remaining] == ["p0", "p1", "p2", "p3"]
    assert await drop_expired_partitions(conninfo, keep_days=3, today=TODAY) == []


@pytest.mark.anyio
async def test_retention_can_be_limited_to_some_tables(conninfo: str) -> None:
    await migrate(conninfo)
    await ensure_partitions(conninfo, days_ahead=0, days_behind=2, today=TODAY)
    dropped = await drop_expired_partitions(
        conninfo, keep_days=0, tables=["odds_snapshots"], today=TODAY
    )
    assert sorted(dropped) == [
        partition_name("odds_snapshots", TODAY - timedelta(days=d)) for d in (2, 1)
    ]
    assert len(_partitions(conninfo, "predictions")) == 3


@pytest.mark.anyio
async def test_retention_refuses_bad_arguments(conninfo: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        await drop_expired_partitions(conninfo, keep_days=-1)
    with pytest.raises(ValueError, match="api_keys"):
        await drop_expired_partitions(conninfo, keep_days=1, tables=["api_keys"])


@pytest.mark.anyio
async def test_partitions_unreachable_database_raises_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable):
        await ensure_partitions(closed_port_conninfo())
    with pytest.raises(DatabaseUnavailable):
        await drop_expired_partitions(closed_port_conninfo(), keep_days=1)
