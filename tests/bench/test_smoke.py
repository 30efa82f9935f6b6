"""Every scenario in SCENARIOS, end to end, for about a second each: `python -m bench all --smoke`.

One subprocess runs them all (as `just bench` would, into a temporary results dir, then the
report); each test checks one scenario's result holds real, non-zero counts. Peers whose venvs
are not installed are recorded by the `rest` scenario as not measured; nothing is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_S = 240.0  # ~35 s with a warm compile cache; a cold one compiles every model once
pytestmark = pytest.mark.timeout(SMOKE_TIMEOUT_S + 30)  # the fixture runs inside the first test


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bench-results")
    env = {key: value for key, value in os.environ.items() if key != "A1RT_BENCH_DATA_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--smoke", "--results", str(directory)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return directory


def _doc(results: Path, scenario: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((results / f"{scenario}.json").read_text())
    assert doc["scenario"] == scenario and doc["config"]["mode"] == "smoke"
    assert "smoke_unsupported" not in doc["config"]
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["libraries"]
    return doc


def _positive_numbers(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return int(value > 0)
    if isinstance(value, dict):
        return sum(_positive_numbers(v) for k, v in value.items() if k not in ("machine", "config"))
    if isinstance(value, list):
        return sum(_positive_numbers(v) for v in value)
    return 0


def _check_actors(doc: dict[str, Any]) -> None:
    pipeline = doc["pipeline"]
    assert pipeline["actors_msgs_per_s"] > 0 and pipeline["anyio_stream_msgs_per_s"] > 0
    assert doc["ask_round_trip"]["n"] == 500 and doc["ask_round_trip"]["p50_us"] > 0


def _check_inference(doc: dict[str, Any]) -> None:
    (model,) = doc["models"].values()
    assert model["outputs_max_abs_diff"] < 1e-6
    per_row = model["per_row"]
    assert per_row["compiled"]["median_us"] > 0 and per_row["native"]["median_us"] > 0


def _check_pipeline(doc: dict[str, Any]) -> None:
    assert doc["updates_sent"] > 0 and doc["predictions_latency"]["n"] > 0
    assert doc["unanswered"] == 0
    assert doc["source_to_prediction"]["price_to_prediction"]["n"] > 0


def _check_rest(doc: dict[str, Any]) -> None:
    predict = doc["predict_open_loop"]
    # Every scheduled request is accounted for; on a slow, cold machine a few may time out or
    # be skipped over the in-flight cap (the report says so), but none is answered wrongly.
    errors, skipped = predict["errors"], predict["skipped_over_max_in_flight"]
    assert predict["ok"] + sum(errors.values()) + skipped == predict["scheduled"], predict
    assert predict["ok"] >= 0.5 * predict["scheduled"] > 0 and set(errors) <= {"timeout"}, predict
    assert doc["explain_open_loop"]["ok"] > 0 and doc["explain_closed_loop"]["ok"] > 0
    assert doc["health_live_open_loop"]["ok"] > 0
    assert doc["targets"]["predict_p99_us"]["floor_us"] > 0
    ceiling = doc["max_throughput"]
    assert ceiling["predict_max_per_s"] > 0 and ceiling["health_live_ceiling_per_s"] > 0
    assert set(doc["peers"]) == {"mlserver", "fastapi"}
    for name, peer in doc["peers"].items():
        if "not_measured" in peer:  # a reason, not a figure
            assert peer["not_measured"] and name not in ceiling["peers_max_per_s"]
            continue
        assert peer["open_loop"]["ok"] > 0 and ceiling["peers_max_per_s"][name] > 0
        assert abs(peer["check"]["p_home"] - peer["check"]["a1rt_xgboost_member_p_home"]) < 1e-4
    mlserver = doc["targets"]["predict_over_mlserver"]
    assert mlserver["figure"] is not None or mlserver["not_measured"]


def _check_storage(doc: dict[str, Any]) -> None:
    assert doc["persister_rows_per_s"] > 0 and doc["bare_copy_rows_per_s"] > 0
    assert doc["config"]["rows"] == 5_000


CHECKS = {"actors": _check_actors, "inference": _check_inference, "pipeline": _check_pipeline,
          "rest": _check_rest, "storage": _check_storage}  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_smoke_scenario_produces_real_counts(results: Path, scenario: str) -> None:
    doc = _doc(results, scenario)
    assert doc["config"]["wall_s"] > 0
    CHECKS.get(scenario, lambda d: None)(doc)
    assert _positive_numbers(doc) >= 3  # any scenario: figures, not just a shape


def test_smoke_report_covers_every_scenario(results: Path) -> None:
    summary = (results / "summary.md").read_text()
    for scenario in SCENARIOS:
        assert f"\n| {scenario} | " in summary, scenario
    assert "result not readable" not in summary
    assert (results / "latency.png").read_bytes().startswith(b"\x89PNG")
    assert (results / "throughput.png").read_bytes().startswith(b"\x89PNG")
