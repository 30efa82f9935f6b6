from __future__ import annotations

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
    for family in ("mailbox_depth", "messages_handled_total", "messages_dropped_total",
                   "restarts_total"):  # fmt: skip
        assert f"# TYPE a1rt_actor_{family.removesuffix('_total')}" in text
    code, elapsed = server.stop(timeout=10)
    assert code == 0
    assert elapsed < 10
    log = server.log.read_text()
    assert '"event":"stopped"' in log and "Traceback" not in log
