from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.loadgen import LoadGenerator, LoadSpec, Target
from bench.server import free_port, tree_cpu_seconds

TINY_SERVER = """
import asyncio, sys
from aiohttp import web

async def ok(request):
    await request.read()
    return web.Response(text="ok")

async def slow(request):
    await asyncio.sleep(0.02)
    return web.Response(text="slow")

async def fail(request):
    return web.Response(status=503)

app = web.Application()
app.add_routes([web.post("/ok", ok), web.get("/ok", ok), web.get("/slow", slow),
                web.get("/fail", fail)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@dataclass
class TinyServer:
    process: subprocess.Popen[bytes]
    url: str


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[TinyServer]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", TINY_SERVER, str(port)])
    server = TinyServer(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(server.url + "/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("the tiny server did not start within 15 s")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def generator() -> Iterator[LoadGenerator]:
    with LoadGenerator() as running:
        yield running


def test_scenarios_open_loop_keeps_its_rate_and_reports_cpu(
    tiny_server: TinyServer, generator: LoadGenerator
) -> None:
    target = Target(tiny_server.url + "/ok", "POST", b'{"x": 1}')
    spec = LoadSpec(target, "open", duration_s=1.0, warmup_s=0.2, rate=200,
                    observe_pid=tiny_server.process.pid)  # fmt: skip
    report = generator.run(spec)
    assert report["scheduled"] == 200 and report["ok"] == 200 and report["errors"] == {}
    assert report["skipped_over_max_in_flight"] == 0
    assert 150 <= report["achieved_rate_per_s"] <= 210
    latency = report["latency_from_intended"]
    assert latency["n"] == 200 and 0 < latency["p50_us"] <= latency["p99_us"] <= latency["max_us"]
    assert report["service_from_send"]["p50_us"] <= latency["p50_us"]
    assert 0 < report["generator_cpu_cores"] < 1.5 and report["server_cpu_cores"] > 0
    assert report["config"]["rate"] == 200


def test_scenarios_open_loop_charges_slow_answers_to_latency(
    tiny_server: TinyServer, generator: LoadGenerator
) -> None:
    spec = LoadSpec(Target(tiny_server.url + "/slow"), "open", duration_s=0.5, rate=100)
    report = generator.run(spec)
    assert report["ok"] == 50
    assert report["latency_from_intended"]["p50_us"] >= 20_000
    assert report["peak_in_flight"] >= 2  # it did not wait for one answer before the next send


def test_scenarios_closed_loop_counts_errors_by_kind(
    tiny_server: TinyServer, generator: LoadGenerator
) -> None:
    failing = LoadSpec(Target(tiny_server.url + "/fail"), "closed", duration_s=0.5, concurrency=4)
    report = generator.run(failing)
    assert report["ok"] == 0 and report["errors"] == {"status_503": report["started"]}
    assert report["latency"] is None and report["started"] > 0
    nobody = Target(f"http://127.0.0.1:{free_port()}/")
    refused = LoadSpec(nobody, "closed", duration_s=0.5, concurrency=2, max_requests=20)
    assert generator.run(refused)["errors"] == {"connection": 20}


def test_scenarios_closed_loop_throughput_matches_its_counts(
    tiny_server: TinyServer, generator: LoadGenerator
) -> None:
    spec = LoadSpec(Target(tiny_server.url + "/ok"), "closed", duration_s=1.0, concurrency=4)
    report = generator.run(spec)
    assert report["ok"] == report["started"] > 100 and report["errors"] == {}
    assert report["elapsed_s"] >= 1.0
    assert report["throughput_per_s"] == pytest.approx(report["ok"] / report["elapsed_s"], rel=1e-3)


def test_scenarios_tree_cpu_seconds_grows_with_work() -> None:
    before = tree_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert tree_cpu_seconds(os.getpid()) - before >= 0.03


def test_scenarios_inference_measures_the_smallest_model_against_native() -> None:
    from a1rt.models import ModelRegistry
    from bench.inference import MODELS_DIR, build_dir, measure_model

    registry = ModelRegistry(MODELS_DIR, build_dir())
    figures = measure_model(registry, "basketball_nba_totals", repetitions=30, batch_repetitions=2)
    assert figures["backend"] in ("tl2cgen", "gtil")
    assert figures["outputs_max_abs_diff"] < 1e-6  # both sides compute the same ensemble
    assert figures["random_forest_native"].startswith("refit; matches")
    assert figures["native_runtimes"]["random_forest"] == "sklearn predict_proba"
    per_row = figures["per_row"]
    assert set(per_row["members"]) == {"xgboost", "lightgbm", "random_forest", "mlp",
                                       "xgboost_dmatrix"}  # fmt: skip
    for side in ("compiled", "native"):
        assert 0 < per_row[side]["median_us"] <= per_row[side]["p99_us"]
    ratio = per_row["native"]["median_us"] / per_row["compiled"]["median_us"]
    assert per_row["speedup_median"] == pytest.approx(ratio, rel=0.01)
    assert per_row["back_to_back"]["compiled"]["median_us"] > 0
    assert figures["per_batch_1000"]["compiled"]["per_row_us"] > 0
    assert np.isfinite(figures["per_batch_1000"]["speedup_median"])


def test_scenarios_pipeline_charges_every_update_to_a_prediction(tmp_path: Path) -> None:
    import anyio

    from a1rt.models import ModelRegistry
    from bench.inference import MODELS_DIR
    from bench.pipeline import _from_source, _measure

    registry = ModelRegistry(MODELS_DIR, tmp_path, backend="gtil")
    registry.load_all()
    figures = anyio.run(_measure, registry, 20, 1.5)
    assert figures["updates_sent"] == 30 and figures["unanswered"] == 0
    latency = figures["predictions_latency"]
    assert latency["n"] == 10 and 0 < latency["p50_us"] <= latency["max_us"]
    fed = anyio.run(_from_source, registry, 3.0)
    assert fed["poll_interval_s"] == 1.0 and fed["target"]["max_s_under"] == 2.0
