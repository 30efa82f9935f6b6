from __future__ import annotations

import pytest

from bench.stats import percentile, summary_us


def test_stats_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 99.9) == 100.0
    assert percentile(values, 0) == 1.0
    assert percentile([7.0], 99) == 7.0


def test_stats_percentile_refuses_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_stats_summary_reports_microseconds_with_labels() -> None:
    figures = summary_us([i / 1e6 for i in range(1, 1001)])
    assert figures["p50_us"] == 500.0
    assert figures["p99_us"] == 990.0
    assert figures["p99.9_us"] == 999.0
    assert figures["max_us"] == 1000.0 and figures["n"] == 1000


def test_stats_actor_bench_smoke_runs_and_meets_no_less_than_it_reports() -> None:
    import anyio

    from bench.actors import actor_pipeline, ask_latencies, stream_pipeline

    async def main() -> tuple[float, float, list[float]]:
        return (await actor_pipeline(2000), await stream_pipeline(2000), await ask_latencies(200))

    actor_rate, stream_rate, asks = anyio.run(main)
    assert actor_rate > 0 and stream_rate > 0 and len(asks) == 200
