"""`POST /api/v2/predict` over real HTTP against one `a1rt serve`, beside the framework's ceiling.

One server (simulated source on, as it ships), one generator process (see `loadgen.py`), in order,
once the server has settled after start-up (`A1rtServer.wait_settled`):

1. the server's idle CPU (the simulated feed runs throughout, so it is not zero by design);
2. predict for one event, open loop at 1000/s (warm-up first), without explanations, and then
   `GET /health/live` at the same rate: the latency floor of this machine, this HTTP stack and
   this generator, which no handler can go under (the gap between the two p99s is what the
   handler, the model and storage add; the figures are in the results, not here);
3. predict with ``explain: true``, open loop at 100/s (warm-up first);
4. explanations in a closed loop (their capacity, to read step 3 by);
5. the peers (`bench/peers/`), started beside it once it is up: MLServer with its XGBoost
   runtime and a plain FastAPI + uvicorn app, each in its own venv, each serving the XGBoost
   member of the same model version from the same booster file, checked by hand to answer the
   event with a1rt's own member probability; each gets the same open loop as step 2;
6. closed-loop predict, `GET /health/live` and each peer at a few concurrencies, interleaved
   (every target at one concurrency, then the next); the best of each is its maximum
   throughput, and `/health/live` (routing, middleware, JSON, nothing else) is the framework's
   ceiling on this machine.

a1rt answers with its whole compiled ensemble (four members, blend, calibration); the peers run
one XGBoost member. A peer whose venv is missing (`python -m bench peers` installs them) or that
fails to start is recorded as ``not_measured`` with the reason, and the run goes on.

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
from .peers import RunningPeer, XgboostMember, running_peers
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
BUILD_DIR_ENV = "A1RT_BENCH_BUILD_DIR"  # the bench's compiled-library cache (see inference.py)
PREDICT_P99_US, EXPLAIN_P99_US, CEILING_RATIO = 5000.0, 50000.0, 0.5  # the targets
MLSERVER_RATIO = 10.0  # a1rt's maximum throughput over MLServer's, at least


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
    def for_run(cls, quick: bool, smoke: bool = False) -> RestConfig:
        """The full run, the quick one (5 s open loops), or a smoke test (every phase, ~1 s)."""
        if smoke:
            return cls(MODEL, 200.0, 20.0, 0.5, 0.0, 0.3, 0.0, (4,), 2, 64, 2.0, 0.2)
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
    headers = {"content-type": "application/json", **server.auth_headers}
    answer = httpx.post(server.url + "/api/v2/predict", content=body, timeout=10,
                        headers=headers)  # fmt: skip
    if answer.status_code != 200:
        raise RuntimeError(f"the event's predict answered {answer.status_code}: {answer.text}")
    figures = {key: answer.json()[key] for key in ("model", "version", "probabilities")}
    return figures | {"xgboost_member": answer.json()["members"]["xgboost"]}


def _idle_cpu(server: A1rtServer, seconds: float) -> float:
    before, started = tree_cpu_seconds(server.pid), time.perf_counter()
    time.sleep(seconds)
    return cpu_cores(tree_cpu_seconds(server.pid) - before, time.perf_counter() - started)


def _target(server: A1rtServer, config: RestConfig, route: str) -> Target:
    if route == "health_live":
        return Target(server.url + "/health/live")
    body = predict_body(route == "explain", config.model)
    return Target(server.url + "/api/v2/predict", "POST", body,
                  headers=tuple(server.auth_headers.items()))  # fmt: skip


def _open(server: A1rtServer, config: RestConfig, route: str) -> LoadSpec:
    """An open loop on `route`: explanations at their rate, predict and the floor at predict's."""
    rate = config.explain_rate if route == "explain" else config.predict_rate
    return _open_spec(_target(server, config, route), server.pid, config, rate)


def _open_spec(target: Target, pid: int, config: RestConfig, rate: float) -> LoadSpec:
    return LoadSpec(
        target,
        "open",
        duration_s=config.open_duration_s,
        warmup_s=config.open_warmup_s,
        rate=rate,
        max_in_flight=config.max_in_flight,
        timeout_s=config.timeout_s,
        observe_pid=pid,
    )


def _closed(server: A1rtServer, config: RestConfig, route: str, concurrency: int) -> LoadSpec:
    return _closed_spec(_target(server, config, route), server.pid, config, concurrency)


def _closed_spec(target: Target, pid: int, config: RestConfig, concurrency: int) -> LoadSpec:
    return LoadSpec(
        target,
        "closed",
        duration_s=config.closed_duration_s,
        warmup_s=config.closed_warmup_s,
        concurrency=concurrency,
        timeout_s=config.timeout_s,
        observe_pid=pid,
    )


def _clean(report: dict[str, Any]) -> bool:
    return not report["errors"] and not report.get("skipped_over_max_in_flight", 0)


def _p99(report: dict[str, Any], key: str) -> float:
    summary = report[key]
    return float("inf") if summary is None else float(summary["p99_us"])


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to 3 places; None when either is missing or the base is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _throughput(
    generator: LoadGenerator, server: A1rtServer, config: RestConfig, peers: list[RunningPeer]
) -> dict[str, Any]:
    targets = {route: (_target(server, config, route), server.pid)
               for route in ("predict", "health_live")}  # fmt: skip
    targets |= {peer.name: (peer.target, peer.server.pid) for peer in peers}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for concurrency in config.concurrencies:  # interleaved, so drift hits every target alike
        for name, (target, pid) in targets.items():
            runs[name].append(generator.run(_closed_spec(target, pid, config, concurrency)))
    best = {name: max(r["throughput_per_s"] for r in reports) for name, reports in runs.items()}
    peer_best = {peer.name: best[peer.name] for peer in peers}
    return {
        "predict_max_per_s": best["predict"],
        "health_live_ceiling_per_s": best["health_live"],
        "ratio": ratio(best["predict"], best["health_live"]) or 0.0,
        "peers_max_per_s": peer_best,
        "predict_over_peer": {name: ratio(best["predict"], r) for name, r in peer_best.items()},
        "runs": runs,
    }


def mlserver_target(ceiling: dict[str, Any], peers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """a1rt's maximum throughput over MLServer's, at least `MLSERVER_RATIO`, in the same run.

    Every predict run must be clean. MLServer's figure is its best run counting only its good
    answers, even one where it timed out at a concurrency it could not serve (which favours it),
    as long as it served at least one run cleanly: a peer that failed throughout was not
    measured, and a ratio against it would flatter a1rt."""
    figure = ceiling["predict_over_peer"].get("mlserver")
    target: dict[str, Any] = {"figure": figure, "at_least": MLSERVER_RATIO}
    if figure is None:
        reason = peers.get("mlserver", {}).get("not_measured", "MLServer was not measured")
        return target | {"met": False, "not_measured": reason}
    runs = ceiling["runs"]
    clean = all(_clean(r) for r in runs["predict"]) and any(_clean(r) for r in runs["mlserver"])
    return target | {"met": figure >= MLSERVER_RATIO and clean}


def _targets(
    predict: dict[str, Any],
    floor: dict[str, Any],
    explain: dict[str, Any],
    ceiling: dict[str, Any],
    peers: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Each target with its figure; met only if nothing failed or was skipped, too."""
    predict_p99 = _p99(predict, "latency_from_intended")
    floor_p99 = _p99(floor, "latency_from_intended")
    explain_p99 = _p99(explain, "latency_from_intended")
    own = ("predict", "health_live")  # the peers' errors are theirs, not a1rt's
    closed_clean = all(_clean(r) for name in own for r in ceiling["runs"][name])
    return {
        "predict_p99_us": {"figure": predict_p99, "under": PREDICT_P99_US,
                           "met": predict_p99 < PREDICT_P99_US and _clean(predict),
                           # /health/live at the same rate, same run: what no handler goes under
                           "floor_us": floor_p99},
        "explain_p99_us": {"figure": explain_p99, "under": EXPLAIN_P99_US,
                           "met": explain_p99 < EXPLAIN_P99_US and _clean(explain)},
        "predict_over_ceiling": {"figure": ceiling["ratio"], "at_least": CEILING_RATIO,
                                 "met": ceiling["ratio"] >= CEILING_RATIO and closed_clean},
        "predict_over_mlserver": mlserver_target(ceiling, peers),
    }  # fmt: skip


def _headline(report: dict[str, Any], figure: str) -> dict[str, Any]:
    keys = ("generator_cpu_cores", "server_cpu_cores", "other_cpu_cores", "generator_saturated")
    concurrency = report["config"].get("concurrency")
    headline = {figure: report[figure]} | ({"concurrency": concurrency} if concurrency else {})
    return headline | {key: report[key] for key in keys}


def _summary(
    predict: dict[str, Any],
    floor: dict[str, Any],
    explain: dict[str, Any],
    capacity: dict[str, Any],
    ceiling: dict[str, Any],
    peers: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The headline figures, each with the CPU of its phase."""
    rate = "throughput_per_s"
    best = {route: max(runs, key=lambda r: r[rate]) for route, runs in ceiling["runs"].items()}
    peer_open = [p["open_loop"] for p in peers.values() if "open_loop" in p]
    phases = [predict, floor, explain, capacity, *peer_open,
              *(r for runs in ceiling["runs"].values() for r in runs)]  # fmt: skip
    summary = {
        "predict_open_loop": _headline(predict, "latency_from_intended"),
        "health_live_open_loop": _headline(floor, "latency_from_intended"),
        "explain_open_loop": _headline(explain, "latency_from_intended"),
        "explain_closed_loop": _headline(capacity, rate),
        "predict_max": _headline(best["predict"], rate),
        "health_live_ceiling": _headline(best["health_live"], rate),
    }
    for name, peer in peers.items():
        if "open_loop" in peer:
            summary[f"{name}_open_loop"] = _headline(peer["open_loop"], "latency_from_intended")
            summary[f"{name}_max"] = _headline(best[name], rate)
    # Other work on this shared machine during the busiest phase, in cores (of 2 here).
    return summary | {"max_other_cpu_cores": max(phase["other_cpu_cores"] for phase in phases)}


def _measure(server: A1rtServer, config: RestConfig, scratch: Path) -> dict[str, Any]:
    event = _check_event(server, config)
    idle = _idle_cpu(server, config.idle_window_s)
    member = XgboostMember.of(config.model, event["version"])
    a1rt_home = float(event["xgboost_member"]["home"])
    with running_peers(member, EVENT, a1rt_home, scratch) as (peers, not_measured):
        with LoadGenerator() as generator:
            predict = generator.run(_open(server, config, "predict"))
            floor = generator.run(_open(server, config, "health_live"))
            explain = generator.run(_open(server, config, "explain"))
            capacity = generator.run(_closed(server, config, "explain", config.explain_concurrency))
            for peer in peers:
                spec = _open_spec(peer.target, peer.server.pid, config, config.predict_rate)
                peer.record["open_loop"] = generator.run(spec)
            ceiling = _throughput(generator, server, config, peers)
    peer_records = {peer.name: peer.record for peer in peers} | not_measured
    return {
        "event": event,
        "server_idle_cpu_cores": idle,
        "targets": _targets(predict, floor, explain, ceiling, peer_records),
        "summary": _summary(predict, floor, explain, capacity, ceiling, peer_records),
        "predict_open_loop": predict,
        "health_live_open_loop": floor,
        "explain_open_loop": explain,
        "explain_closed_loop": capacity,
        "peers": peer_records,
        "max_throughput": ceiling,
    }


def _share_build_cache(data_dir: Path) -> None:
    """Point the fresh data dir's compiled-library cache at the bench's shared one.

    A fresh data dir compiles every model before it is ready (~30 s on 2 cores); the quick and
    smoke runs reuse what `inference`/`pipeline` (or an earlier run) compiled instead. Full
    runs start cold, as a first deployment does.
    """
    shared = Path(os.environ.get(BUILD_DIR_ENV) or Path(tempfile.gettempdir()) / "a1rt-bench-build")
    shared.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "build").symlink_to(shared, target_is_directory=True)


def run(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Start a server, measure every phase against it, stop it, return the figures."""
    config = RestConfig.for_run(quick, smoke)
    loadavg_start = os.getloadavg()
    reused = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="a1rt-bench-rest-") as scratch:
        data_dir = Path(reused) if reused else Path(scratch) / "data"
        if not reused and (quick or smoke):
            _share_build_cache(data_dir)
        with A1rtServer(data_dir, Path(scratch) / "server.log") as server:
            started = time.perf_counter()
            server.start()
            ready_s = round(time.perf_counter() - started, 1)
            settled_s = server.wait_settled()
            figures = _measure(server, config, Path(scratch))
            exit_status, stop_s = server.stop()
    lifecycle = {"ready_after_s": ready_s, "settled_after_ready_s": settled_s,
                 "exit_status": exit_status, "stop_s": stop_s}  # fmt: skip
    return {
        "config": asdict(config)
        | {
            "event": EVENT,
            "server": server.describe(),
            "build_cache": "shared" if quick or smoke else "cold",
            "peers_measured_as": "XGBoost member only; a1rt: ensemble",
        },
        **figures,
        "server_lifecycle": lifecycle,
        "loadavg_at_run_start": loadavg_start,
        "loadavg_at_run_end": os.getloadavg(),
    }
