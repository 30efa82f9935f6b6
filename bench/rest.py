"""`POST /api/v2/predict` over real HTTP against one `a1rt serve`, beside the framework's ceiling.

One server (simulated source on, as it ships), one generator process (see `loadgen.py`), in order:

1. the server's idle CPU (the simulated feed runs throughout, so it is not zero by design);
2. predict for one event, open loop at 1000/s (warm-up first), without explanations;
3. predict with ``explain: true``, open loop at 100/s (warm-up first);
4. explanations in a closed loop (their capacity, to read step 3 by);
5. closed-loop predict and `GET /health/live` at a few concurrencies, interleaved; the best of
   each is its maximum throughput, and `/health/live` (routing, middleware, JSON, nothing else)
   is the framework's ceiling on this machine.

Latency is from the intended send time (open loop) and every error, skip and late send is counted.
A target counts as met only with no errors and nothing skipped. Generator and server CPU are
reported per phase in cores, with what the rest of the machine used ("other"): the generator and
the server share a 2-core machine with whatever else runs on it, and a generator busy enough to
be the bottleneck (``generator_saturated``) makes a closed-loop figure a floor, not a ceiling.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from .loadgen import LoadGenerator, LoadSpec, Target, cpu_cores
from .server import A1rtServer, tree_cpu_seconds

MODEL = "basketball_nba_h2h"
EVENT = {  # one pregame NBA event (the README's example)
    "elo_diff": 50,
    "home_rest_days": 2,
    "away_rest_days": 1,
    "market_home_p": 0.62,
    "market_spread": -4.5,
    "seconds_remaining": 2880,
    "score_diff": 0,
    "period": 0,
}
DATA_DIR_ENV = "A1RT_BENCH_DATA_DIR"  # reuse a data dir (and its compiled models) across runs
PREDICT_P99_US, EXPLAIN_P99_US, CEILING_RATIO = 5000.0, 50000.0, 0.5  # the targets


@dataclass(frozen=True)
class RestConfig:
    """Every knob of the run, recorded with its figures."""

    model: str
    predict_rate: float
    explain_rate: float
    open_duration_s: float
    open_warmup_s: float
    closed_duration_s: float
    closed_warmup_s: float
    concurrencies: tuple[int, ...]
    explain_concurrency: int  # a closed loop of explanations, to show their capacity
    max_in_flight: int
    timeout_s: float
    idle_window_s: float

    @classmethod
    def for_run(cls, quick: bool) -> RestConfig:
        """The full run, or the quick one (5 s open loops)."""
        return cls(
            model=MODEL,
            predict_rate=1000.0,
            explain_rate=100.0,
            open_duration_s=5.0 if quick else 30.0,
            open_warmup_s=2.0 if quick else 5.0,
            closed_duration_s=3.0 if quick else 10.0,
            closed_warmup_s=1.0 if quick else 2.0,
            concurrencies=(8, 32) if quick else (8, 32, 128),
            explain_concurrency=8,
            max_in_flight=512,
            timeout_s=2.0,
            idle_window_s=2.0 if quick else 5.0,
        )


def predict_body(explain: bool, model: str = MODEL) -> bytes:
    """The request body for the one event."""
    return json.dumps({"model": model, "features": EVENT, "explain": explain}).encode()


def _check_event(server: A1rtServer, config: RestConfig) -> dict[str, Any]:
    """One predict by hand, so a schema mismatch fails loudly before any load."""
    body = predict_body(True, config.model)
    answer = httpx.post(server.url + "/api/v2/predict", content=body, timeout=10,
                        headers={"content-type": "application/json"})  # fmt: skip
    if answer.status_code != 200:
        raise RuntimeError(f"the event's predict answered {answer.status_code}: {answer.text}")
    return {key: answer.json()[key] for key in ("model", "version", "probabilities")}


def _idle_cpu(server: A1rtServer, seconds: float) -> float:
    before, started = tree_cpu_seconds(server.pid), time.perf_counter()
    time.sleep(seconds)
    return cpu_cores(tree_cpu_seconds(server.pid) - before, time.perf_counter() - started)


def _target(server: A1rtServer, config: RestConfig, route: str) -> Target:
    if route == "health_live":
        return Target(server.url + "/health/live")
    body = predict_body(route == "explain", config.model)
    return Target(server.url + "/api/v2/predict", "POST", body)


def _open(server: A1rtServer, config: RestConfig, route: str) -> LoadSpec:
    return LoadSpec(
        _target(server, config, route),
        "open",
        duration_s=config.open_duration_s,
        warmup_s=config.open_warmup_s,
        rate=config.explain_rate if route == "explain" else config.predict_rate,
        max_in_flight=config.max_in_flight,
        timeout_s=config.timeout_s,
        observe_pid=server.pid,
    )


def _closed(server: A1rtServer, config: RestConfig, route: str, concurrency: int) -> LoadSpec:
    return LoadSpec(
        _target(server, config, route),
        "closed",
        duration_s=config.closed_duration_s,
        warmup_s=config.closed_warmup_s,
        concurrency=concurrency,
        timeout_s=config.timeout_s,
        observe_pid=server.pid,
    )


def _clean(report: dict[str, Any]) -> bool:
    return not report["errors"] and not report.get("skipped_over_max_in_flight", 0)


def _p99(report: dict[str, Any], key: str) -> float:
    summary = report[key]
    return float("inf") if summary is None else float(summary["p99_us"])


def _throughput(generator: LoadGenerator, server: A1rtServer, config: RestConfig) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"predict": [], "health_live": []}
    for concurrency in config.concurrencies:  # interleaved, so drift hits both alike
        for route, reports in runs.items():
            reports.append(generator.run(_closed(server, config, route, concurrency)))
    best = {route: max(r["throughput_per_s"] for r in reports) for route, reports in runs.items()}
    ratio = best["predict"] / best["health_live"] if best["health_live"] else 0.0
    return {
        "predict_max_per_s": best["predict"],
        "health_live_ceiling_per_s": best["health_live"],
        "ratio": round(ratio, 3),
        "runs": runs,
    }


def _targets(
    predict: dict[str, Any], explain: dict[str, Any], ceiling: dict[str, Any]
) -> dict[str, Any]:
    """Each target with its figure; met only if nothing failed or was skipped, too."""
    predict_p99 = _p99(predict, "latency_from_intended")
    explain_p99 = _p99(explain, "latency_from_intended")
    closed_clean = all(_clean(r) for runs in ceiling["runs"].values() for r in runs)
    return {
        "predict_p99_us": {"figure": predict_p99, "under": PREDICT_P99_US,
                           "met": predict_p99 < PREDICT_P99_US and _clean(predict)},
        "explain_p99_us": {"figure": explain_p99, "under": EXPLAIN_P99_US,
                           "met": explain_p99 < EXPLAIN_P99_US and _clean(explain)},
        "predict_over_ceiling": {"figure": ceiling["ratio"], "at_least": CEILING_RATIO,
                                 "met": ceiling["ratio"] >= CEILING_RATIO and closed_clean},
    }  # fmt: skip


def _headline(report: dict[str, Any], figure: str) -> dict[str, Any]:
    keys = ("generator_cpu_cores", "server_cpu_cores", "other_cpu_cores", "generator_saturated")
    concurrency = report["config"].get("concurrency")
    headline = {figure: report[figure]} | ({"concurrency": concurrency} if concurrency else {})
    return headline | {key: report[key] for key in keys}


def _summary(
    predict: dict[str, Any],
    explain: dict[str, Any],
    capacity: dict[str, Any],
    ceiling: dict[str, Any],
) -> dict[str, Any]:
    """The headline figures, each with the CPU of its phase."""
    rate = "throughput_per_s"
    best = {route: max(runs, key=lambda r: r[rate]) for route, runs in ceiling["runs"].items()}
    phases = [predict, explain, capacity, *(r for runs in ceiling["runs"].values() for r in runs)]
    return {
        "predict_open_loop": _headline(predict, "latency_from_intended"),
        "explain_open_loop": _headline(explain, "latency_from_intended"),
        "explain_closed_loop": _headline(capacity, rate),
        "predict_max": _headline(best["predict"], rate),
        "health_live_ceiling": _headline(best["health_live"], rate),
        # Other work on this shared machine during the busiest phase, in cores (of 2 here).
        "max_other_cpu_cores": max(phase["other_cpu_cores"] for phase in phases),
    }


def _measure(server: A1rtServer, config: RestConfig) -> dict[str, Any]:
    event = _check_event(server, config)
    idle = _idle_cpu(server, config.idle_window_s)
    with LoadGenerator() as generator:
        predict = generator.run(_open(server, config, "predict"))
        explain = generator.run(_open(server, config, "explain"))
        capacity = generator.run(_closed(server, config, "explain", config.explain_concurrency))
        ceiling = _throughput(generator, server, config)
    return {
        "event": event,
        "server_idle_cpu_cores": idle,
        "targets": _targets(predict, explain, ceiling),
        "summary": _summary(predict, explain, capacity, ceiling),
        "predict_open_loop": predict,
        "explain_open_loop": explain,
        "explain_closed_loop": capacity,
        "max_throughput": ceiling,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Start a server, measure every phase against it, stop it, return the figures."""
    config = RestConfig.for_run(quick)
    loadavg_start = os.getloadavg()
    reused = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="a1rt-bench-rest-") as scratch:
        data_dir = Path(reused) if reused else Path(scratch) / "data"
        with A1rtServer(data_dir, Path(scratch) / "server.log") as server:
            started = time.perf_counter()
            server.start()
            ready_s = round(time.perf_counter() - started, 1)
            figures = _measure(server, config)
            exit_status, stop_s = server.stop()
    lifecycle = {"ready_after_s": ready_s, "exit_status": exit_status, "stop_s": stop_s}
    return {
        "config": asdict(config) | {"event": EVENT, "server": server.describe()},
        **figures,
        "server_lifecycle": lifecycle,
        "loadavg_at_run_start": loadavg_start,
        "loadavg_at_run_end": os.getloadavg(),
    }
