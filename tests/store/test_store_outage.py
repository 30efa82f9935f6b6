"""PostgreSQL stops in the middle of a stream of predictions and comes back: serving never
waits, rows wait in memory and then in the journal, and every prediction is stored exactly
once. The server is an embedded one of this test's own, never the shared one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from a1rt.health import HealthRegistry, Status
from a1rt.messages import Prediction
from a1rt.store import EmbeddedPostgres, Persister, PersisterConfig
from actors import Backoff

from .test_store_database import query
from .test_store_persister import running, sample

RATE = 2000  # predictions per second told by the "predictor"


class Predictor:
    """Tells the persister a prediction at a steady rate until stopped; never waits for it."""

    def __init__(self, persister: Persister) -> None:
        self.persister = persister
        self.told: list[str] = []
        self.stopped = anyio.Event()
        self.longest_tell = 0.0

    async def run(self) -> None:
        while not self.stopped.is_set():
            for _ in range(RATE // 100):
                prediction = Prediction(
                    prediction_id=str(uuid.uuid4()),
                    model="m",
                    version="v",
                    probabilities={"home": 0.5, "away": 0.5},
                    confidence=0.0,
                    created_at=datetime.now(UTC),
                )
                started = anyio.current_time()
                self.persister.tell_nowait(prediction)
                self.longest_tell = max(self.longest_tell, anyio.current_time() - started)
                self.told.append(prediction.prediction_id)
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_outage_every_prediction_stored_exactly_once(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "postgres")
    conninfo = await server.start()
    health = HealthRegistry()
    config = PersisterConfig(
        flush_interval=0.05,
        batch_rows=100,
        max_pending_rows=400,
        connect_timeout=0.5,
        retry=Backoff(base=0.05, cap=0.5),
    )
    persister = Persister(conninfo, tmp_path / "data", config=config, health=health)
    try:
        async with running(persister, limit=60), anyio.create_task_group() as tg:
            with anyio.fail_after(10):
                await persister.wait_connected()
            predictor = Predictor(persister)
            tg.start_soon(predictor.run)
            await anyio.sleep(0.5)
            await server.stop()  # mid-stream
            await anyio.sleep(1.5)
            assert health.snapshot()["storage"]["status"] == Status.DEGRADED
            assert health.ready()  # an outage after the first answer does not fail readiness
            assert persister.journal.bytes > 0  # more than max_pending_rows arrived meanwhile
            await server.start()
            await anyio.sleep(0.5)
            predictor.stopped.set()
            with anyio.fail_after(30):
                await persister.wait_idle()
            assert health.snapshot()["storage"]["status"] == Status.OK
        stored = [str(r[0]) for r in query(conninfo, "SELECT prediction_id FROM predictions")]
    finally:
        await server.stop()
    assert len(predictor.told) > RATE * 2
    assert len(stored) == len(set(stored))  # no duplicates
    assert set(stored) == set(predictor.told)  # nothing lost
    assert sample(persister, "a1rt_storage_rows_journalled_total", table="predictions") > 0
    assert sample(persister, "a1rt_storage_rows_retried_total", table="predictions") > 0
    assert (
        persister.journal.bytes == 0
        and list((tmp_path / "data" / "journal").glob("*.journal")) == []
    )
    assert predictor.longest_tell < 0.05  # telling never waited for the database
