"""The persister against a real PostgreSQL: every row once, batches by size and by time,
retries and replays without duplicates, bad rows rejected alone, outages journalled."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import psycopg
import pytest

from a1rt.health import HealthRegistry, Status
from a1rt.messages import FeatureVector, OddsUpdate, OutcomePrice, Prediction
from a1rt.metrics import Metrics
from a1rt.store import AlertRecord, OpportunityRecord, Persister, PersisterConfig
from a1rt.store import writer as writer_module

from .test_store_database import closed_port_conninfo, fresh_schema, query


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


NOW = datetime.now(UTC).replace(microsecond=0)
FAST = PersisterConfig(flush_interval=0.05, batch_rows=100, max_pending_rows=1000)


def predictions(n: int, *, at: datetime = NOW) -> list[Prediction]:
    return [
        Prediction(
            prediction_id=str(uuid.uuid4()),
            model="nba_h2h",
            version="v1",
            probabilities={"home": 0.6, "away": 0.4},
            confidence=0.2,
            created_at=at + timedelta(milliseconds=i),
            event_id=f"e{i % 7}",
        )
        for i in range(n)
    ]


@asynccontextmanager
async def running(persister: Persister, limit: float = 20.0) -> AsyncIterator[Persister]:
    """Run `persister` for the block, then stop it gracefully, all within `limit` seconds."""
    with anyio.fail_after(limit):
        async with anyio.create_task_group() as tg:
            await tg.start(persister.run)
            try:
                yield persister
            finally:
                persister.request_stop()


def sample(persister: Persister, name: str, **labels: str) -> float:
    value = persister.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def ids(conninfo: str, table: str = "predictions", column: str = "prediction_id") -> list[str]:
    statement = f"SELECT {column} FROM {table}"  # noqa: S608 - names from this module
    return sorted(str(r[0]) for r in query(conninfo, statement))


@pytest.mark.anyio
async def test_persister_writes_every_kind_of_message_once(conninfo: str, tmp_path: Path) -> None:
    batch = predictions(250)
    odds = OddsUpdate(
        event_id="e1",
        sport="nba",
        home_team="A",
        away_team="B",
        commence_time=NOW,
        book="bk",
        market="h2h",
        outcomes=(OutcomePrice(name="A", price=1.9),),
        source="sim",
        received_at=NOW,
    )
    features = FeatureVector(
        event_id="e1", sport="nba", model="nba_h2h", features={"x": 1.5}, computed_at=NOW
    )
    opportunity = OpportunityRecord(
        opportunity_id="o1",
        detected_at=NOW,
        kind="value",
        event_id="e1",
        sport="nba",
        market="h2h",
        outcome="A",
        book="bk",
        price=2.1,
        fair_probability=0.5,
        edge=0.05,
    )
    alert = AlertRecord(alert_id="a1", raised_at=NOW, severity="info", kind="k", message="hi")
    async with running(Persister(conninfo, tmp_path, config=FAST)) as persister:
        for message in [*batch, odds, features, opportunity, alert]:
            persister.tell_nowait(message)
        with anyio.fail_after(10):
            await persister.wait_idle()
    assert ids(conninfo) == sorted(p.prediction_id for p in batch)
    stored = query(
        conninfo,
        "SELECT probabilities, members, created_at FROM predictions WHERE prediction_id = %s",
        (batch[3].prediction_id,),
    )
    assert stored == [({"home": 0.6, "away": 0.4}, {}, batch[3].created_at)]
    assert query(conninfo, "SELECT outcomes FROM odds_snapshots") == [
        ([{"name": "A", "price": 1.9, "point": None}],)
    ]
    assert query(conninfo, "SELECT features FROM feature_store") == [({"x": 1.5},)]
    assert ids(conninfo, "betting_opportunities", "opportunity_id") == ["o1"]
    assert ids(conninfo, "system_alerts", "alert_id") == ["a1"]
    assert sample(persister, "a1rt_storage_rows_written_total", table="predictions") == 250


@pytest.mark.anyio
async def test_persister_flushes_a_partial_batch_by_time(conninfo: str, tmp_path: Path) -> None:
    config = PersisterConfig(batch_rows=10_000, flush_interval=0.1)
    async with running(Persister(conninfo, tmp_path, config=config)) as persister:
        with anyio.fail_after(10):
            await persister.wait_connected()
        persister.tell_nowait(predictions(1)[0])
        with anyio.fail_after(2):
            await persister.wait_idle()
        assert len(ids(conninfo)) == 1


@pytest.mark.anyio
async def test_persister_batches_by_size_and_drains_on_stop(conninfo: str, tmp_path: Path) -> None:
    config = PersisterConfig(batch_rows=100, flush_interval=60.0, max_pending_rows=1000)
    rows = predictions(250)
    async with running(Persister(conninfo, tmp_path, config=config)) as persister:
        for prediction in rows:
            persister.tell_nowait(prediction)
        with anyio.fail_after(10):
            await persister.wait_pending_below(50)
        assert len(ids(conninfo)) == 200  # two full batches; 50 rows wait for a flush
        copies = "a1rt_storage_query_duration_seconds_count"
        assert sample(persister, copies, statement="copy:predictions") == 2
    assert ids(conninfo) == sorted(p.prediction_id for p in rows)  # the stop flushed the rest
    assert sample(persister, copies, statement="copy:predictions") == 3


@pytest.mark.anyio
async def test_persister_writers_sleep_while_rows_wait_for_a_flush(
    conninfo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows in an open (unsealed) buffer give a writer nothing to take: it waits for a seal
    or a flush, rather than asking the journal for a segment again on every loop turn (a
    busy loop that once cost a core under 1000 predictions/s)."""
    config = PersisterConfig(batch_rows=100, flush_interval=60.0, max_pending_rows=1000)
    persister = Persister(conninfo, tmp_path, config=config)
    looks = 0
    replay_segment = persister._replay_segment

    async def counted() -> bool:
        nonlocal looks
        looks += 1
        return await replay_segment()

    monkeypatch.setattr(persister, "_replay_segment", counted)
    async with running(persister):
        with anyio.fail_after(10):
            await persister.wait_connected()
        for prediction in predictions(150):
            persister.tell_nowait(prediction)
        with anyio.fail_after(10):
            await persister.wait_pending_below(60)  # one batch written, 50 rows left open
        before = looks
        await anyio.sleep(0.3)
        assert looks - before <= config.writers  # at most one look each, then asleep
    assert len(ids(conninfo)) == 150


@pytest.mark.anyio
async def test_persister_retried_batch_is_written_once(
    conninfo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_copy = writer_module._copy
    failures = []

    async def commit_then_lose_the_connection(
        conn: Any, table: Any, rows: Any, target: str
    ) -> None:
        await real_copy(conn, table, rows, target)
        if not failures and target == "predictions":
            failures.append(len(rows))
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(writer_module, "_copy", commit_then_lose_the_connection)
    rows = predictions(300)
    async with running(Persister(conninfo, tmp_path, config=FAST)) as persister:
        for prediction in rows:
            persister.tell_nowait(prediction)
        with anyio.fail_after(10):
            await persister.wait_idle()
    assert failures == [100]
    assert ids(conninfo) == sorted(p.prediction_id for p in rows)  # each exactly once
    assert sample(persister, "a1rt_storage_rows_retried_total", table="predictions") == 100
    assert sample(persister, "a1rt_storage_rows_duplicates_total", table="predictions") == 100
    assert sample(persister, "a1rt_storage_rows_written_total", table="predictions") == 300


@pytest.mark.anyio
async def test_persister_told_twice_stores_once(conninfo: str, tmp_path: Path) -> None:
    rows = predictions(150)
    async with running(Persister(conninfo, tmp_path, config=FAST)) as persister:
        for _ in range(2):
            for prediction in rows:
                persister.tell_nowait(prediction)
            with anyio.fail_after(10):
                await persister.wait_idle()
    assert ids(conninfo) == sorted(p.prediction_id for p in rows)
    assert sample(persister, "a1rt_storage_rows_duplicates_total", table="predictions") == 150


@pytest.mark.anyio
async def test_persister_creates_a_missing_partition_on_demand(
    conninfo: str, tmp_path: Path
) -> None:
    later = predictions(3, at=NOW + timedelta(days=40))
    async with running(Persister(conninfo, tmp_path, config=FAST)) as persister:
        for prediction in later:
            persister.tell_nowait(prediction)
        with anyio.fail_after(10):
            await persister.wait_idle()
    assert ids(conninfo) == sorted(p.prediction_id for p in later)
    day = (NOW + timedelta(days=40)).strftime("%Y%m%d")
    assert query(conninfo, "SELECT DISTINCT tableoid::regclass::text FROM predictions") == [
        (f"predictions_p{day}",)
    ]


@pytest.mark.anyio
async def test_persister_rejects_only_the_invalid_rows(conninfo: str, tmp_path: Path) -> None:
    def opportunity(oid: str, price: float) -> OpportunityRecord:
        return OpportunityRecord(
            opportunity_id=oid,
            detected_at=NOW,
            kind="value",
            event_id="e1",
            sport="nba",
            market="h2h",
            outcome="A",
            book="bk",
            price=price,
            edge=0.05,
        )

    async with running(Persister(conninfo, tmp_path, config=FAST)) as persister:
        for message in (opportunity("ok1", 2.0), opportunity("bad", 0.5), opportunity("ok2", 3.0)):
            persister.tell_nowait(message)
        persister.tell_nowait("not a message")  # type: ignore[arg-type]
        good, bad = predictions(2)
        # Structs are not validated when built: a value psycopg cannot send as float8.
        persister.tell_nowait(msgspec.structs.replace(bad, confidence="high"))  # type: ignore[arg-type]
        with anyio.fail_after(10):
            await persister.wait_idle()
        persister.tell_nowait(good)  # and it carries on
        with anyio.fail_after(10):
            await persister.wait_idle()
    assert ids(conninfo, "betting_opportunities", "opportunity_id") == ["ok1", "ok2"]
    rejected = "a1rt_storage_rows_rejected_total"
    assert sample(persister, rejected, table="betting_opportunities") == 1
    assert sample(persister, rejected, table="predictions") == 1
    assert sample(persister, rejected, table="unstorable") == 1
    assert ids(conninfo) == [good.prediction_id]


@pytest.mark.anyio
async def test_persister_reports_health_and_pool_metrics(conninfo: str, tmp_path: Path) -> None:
    health, metrics = HealthRegistry(), Metrics()
    persister = Persister(conninfo, tmp_path, config=FAST, health=health, metrics=metrics)
    assert health.snapshot()["storage"]["status"] == "down" and not health.ready()
    async with running(persister):
        with anyio.fail_after(10):
            await persister.wait_connected()
        assert health.snapshot()["storage"]["status"] == "ok" and health.ready()
        scrape = metrics.render().decode()
        for name in (
            "a1rt_storage_pool_size",
            "a1rt_storage_pool_in_use",
            "a1rt_storage_pool_waiting",
            "a1rt_storage_rows_pending 0.0",
        ):
            assert name in scrape


@pytest.mark.anyio
async def test_persister_without_database_journals_on_stop_and_replays_later(
    conninfo: str, tmp_path: Path
) -> None:
    health = HealthRegistry()
    config = PersisterConfig(flush_interval=0.05, batch_rows=100, connect_timeout=0.5)
    rows = predictions(120)
    offline = Persister(closed_port_conninfo(), tmp_path, config=config, health=health)
    async with running(offline):
        for prediction in rows:
            offline.tell_nowait(prediction)  # never blocks, whatever the database does
        with anyio.fail_after(5):
            while health.snapshot()["storage"]["detail"].startswith("connecting"):
                await anyio.sleep(0.02)
        assert health.snapshot()["storage"]["status"] == Status.DOWN and not health.ready()
    assert offline.pending_rows == 0 and offline.journal.bytes > 0
    assert sample(offline, "a1rt_storage_rows_journalled_total", table="predictions") == 120

    async with running(Persister(conninfo, tmp_path, config=FAST)) as online:
        with anyio.fail_after(10):
            await online.wait_idle()
    assert ids(conninfo) == sorted(p.prediction_id for p in rows)
    assert online.journal.bytes == 0 and list((tmp_path / "journal").glob("*.journal")) == []
    assert sample(online, "a1rt_storage_rows_replayed_total", table="predictions") == 120


@pytest.mark.anyio
async def test_persister_memory_is_bounded_while_the_database_is_away(tmp_path: Path) -> None:
    config = PersisterConfig(
        flush_interval=0.05, batch_rows=50, max_pending_rows=200, connect_timeout=0.5
    )
    persister = Persister(closed_port_conninfo(), tmp_path, config=config)
    async with running(persister):
        for i, prediction in enumerate(predictions(2000)):
            persister.tell_nowait(prediction)
            if i % 100 == 0:
                await anyio.lowlevel.checkpoint()  # let the handler run, as a serving loop does
        with anyio.fail_after(5):
            await persister.wait_pending_below(200)
        journalled = sample(persister, "a1rt_storage_rows_journalled_total", table="predictions")
        assert journalled >= 1800 and persister.pending_rows <= 200
    assert sample(persister, "a1rt_storage_rows_journalled_total", table="predictions") == 2000
