from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_serve_becomes_ready_exposes_metrics_and_stops_cleanly_on_sigterm(
    server,  # type: ignore[no-untyped-def]
) -> None:
    server.wait_ready()
    health = server.get("/health")
    assert health.status_code == 200
    assert health.json()["components"]["actors"]["status"] == "ok"
    metrics = server.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'a1rt_http_requests_total{method="GET",route="/health/ready",status="200"}' in text
    manifest = server.get("/api/v2/models/basketball_nba_h2h").json()
    features = {f["name"]: f["min"] for f in manifest["features"]}
    predicted = httpx.post(
        server.url + "/api/v2/predict",
        timeout=10,
        json={"model": "basketball_nba_h2h", "features": features},
    )
    assert predicted.status_code == 200, predicted.text
    assert sum(predicted.json()["probabilities"].values()) == pytest.approx(1.0)
    text = server.get("/metrics").text
    for series in ("a1rt_actor_mailbox_depth", "a1rt_actor_messages_handled_total",
                   "a1rt_actor_messages_dropped_total", "a1rt_actor_restarts_total"):  # fmt: skip
        assert f'{series}{{actor="predictor"' in text
    assert 'a1rt_actor_messages_handled_total{actor="predictor"} 1.0' in text
    assert health.json()["components"]["storage"]["status"] == "ok"
    written = 'a1rt_storage_rows_written_total{table="predictions"} 1.0'
    deadline = time.monotonic() + 10
    while written not in server.get("/metrics").text:  # the persister flushes every 0.2 s
        assert time.monotonic() < deadline, "the prediction was not written"
        time.sleep(0.1)
    code, elapsed = server.stop(timeout=10)
    assert code == 0
    assert elapsed < 10
    log = server.log.read_text()
    assert '"event":"stopped"' in log and "Traceback" not in log
