from __future__ import annotations

import re
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
        headers=server.headers,
    )
    assert predicted.status_code == 200, predicted.text
    assert sum(predicted.json()["probabilities"].values()) == pytest.approx(1.0)
    text = server.get("/metrics").text
    for series in ("a1rt_actor_mailbox_depth", "a1rt_actor_messages_handled_total",
                   "a1rt_actor_messages_dropped_total", "a1rt_actor_restarts_total"):  # fmt: skip
        assert f'{series}{{actor="predictor"' in text
    assert health.json()["components"]["storage"]["status"] == "ok"
    # The simulated feed drives predictions on its own; they reach live-games and storage.
    deadline = time.monotonic() + 60
    while True:
        games = server.get("/api/v2/data/live-games").json()["games"]
        if any(g["prediction"] is not None for g in games):
            break
        assert time.monotonic() < deadline, "no live prediction within 60 s"
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while not all(
        _counter(server.get("/metrics").text, "a1rt_storage_rows_written_total", table) > 0
        for table in ("predictions", "odds_snapshots", "feature_store")
    ):  # the persister flushes every 0.2 s
        assert time.monotonic() < deadline, "live rows were not written"
        time.sleep(0.1)
    code, elapsed = server.stop(timeout=10)
    assert code == 0
    assert elapsed < 10
    log = server.log.read_text()
    assert '"event":"stopped"' in log and "Traceback" not in log


def _counter(text: str, name: str, table: str) -> float:
    found = re.search(rf'^{name}{{table="{table}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0
