from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import bench.peers.venvs as venvs
from bench.__main__ import accepts_smoke
from bench.loadgen import LoadSpec
from bench.peers import PEERS, PeerVenv, XgboostMember
from bench.rest import EVENT, RestConfig, _throughput, mlserver_target, ratio

ROOT = Path(__file__).resolve().parents[2]


def _member() -> XgboostMember:
    model_dir = ROOT / "compiled_models" / "basketball_nba_h2h"
    version = sorted(p.name for p in model_dir.iterdir() if p.is_dir())[-1]
    return XgboostMember.of("basketball_nba_h2h", version)


def test_peers_member_is_the_shipped_xgboost_booster_in_feature_order() -> None:
    member = _member()
    assert member.booster.name == "xgboost.ubj" and member.booster.exists()
    assert member.features[0] == "elo_diff" and len(member.features) == 8
    assert member.row(EVENT) == [float(EVENT[name]) for name in member.features]


def test_peers_bodies_carry_the_same_event() -> None:
    member = _member()
    mlserver, fastapi = PEERS
    tensor = json.loads(mlserver.body(member, EVENT))["inputs"][0]
    assert tensor["shape"] == [1, 8] and tensor["datatype"] == "FP32"
    assert tensor["data"] == member.row(EVENT)
    assert json.loads(fastapi.body(member, EVENT))["features"] == EVENT
    # binary:logistic scores label 1, which is the model's second outcome (away)
    assert mlserver.home_probability({"outputs": [{"data": [0.25]}]}) == 0.75
    assert fastapi.home_probability({"probabilities": {"home": 0.75, "away": 0.25}}) == 0.75


def test_peers_venv_missing_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(venvs, "VENVS", tmp_path)
    venv = PeerVenv("demo", ("demo==1.0",))
    assert "is not installed" in str(venv.missing())
    (venv.path / "bin").mkdir(parents=True)
    venv.python.touch()
    (venv.path / venvs.MARKER).write_text(json.dumps({"requirements": ["demo==0.9"]}))
    assert "other pins" in str(venv.missing())
    (venv.path / venvs.MARKER).write_text(json.dumps({"requirements": ["demo==1.0"]}))
    assert venv.missing() is None
    venv.error_path.write_text("installing demo==1.0 failed: no network")
    assert venv.missing() == "installing demo==1.0 failed: no network"


def test_peers_ratio_is_none_without_both_figures() -> None:
    assert ratio(6436.1, 18822.1) == 0.342
    assert ratio(None, 1.0) is None and ratio(1.0, None) is None and ratio(1.0, 0.0) is None


Errors = dict[str, int]


def _ceiling(mlserver_errors: list[Errors] | None = None, predict_errors: Errors | None = None
             ) -> dict[str, Any]:  # fmt: skip
    run = {"errors": {}, "skipped_over_max_in_flight": 0}
    mlserver = [run | {"errors": errors} for errors in (mlserver_errors or [{}])]
    return {
        "predict_over_peer": {"mlserver": 12.5},
        "runs": {"predict": [run | {"errors": predict_errors or {}}], "mlserver": mlserver},
    }


def test_peers_mlserver_target_needs_the_ratio_clean_predict_runs_and_a_working_peer() -> None:
    assert mlserver_target(_ceiling(), {}) == {"figure": 12.5, "at_least": 10.0, "met": True}
    assert mlserver_target(_ceiling(predict_errors={"timeout": 1}), {})["met"] is False
    # MLServer timing out at one concurrency still counts (its best run, its good answers)...
    assert mlserver_target(_ceiling([{}, {"timeout": 43}]), {})["met"] is True
    # ...but a peer that failed in every run was not measured
    assert mlserver_target(_ceiling([{"connection": 5}, {"timeout": 1}]), {})["met"] is False
    missing = mlserver_target({"predict_over_peer": {}}, {"mlserver": {"not_measured": "why"}})
    assert missing == {"figure": None, "at_least": 10.0, "met": False, "not_measured": "why"}


@dataclass
class FakeServer:
    url: str
    pid: int
    auth_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakePeer:
    name: str
    server: FakeServer
    target: Any


class FakeGenerator:
    """Answers each closed loop with a throughput set per URL, recording the order."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = rates
        self.order: list[tuple[str, int]] = []

    def run(self, spec: LoadSpec) -> dict[str, Any]:
        self.order.append((spec.target.url, spec.concurrency))
        return {"throughput_per_s": self.rates[spec.target.url] * spec.concurrency, "errors": {}}


def test_peers_throughput_interleaves_targets_and_takes_each_best() -> None:
    from bench.loadgen import Target

    a1rt = FakeServer("http://127.0.0.1:1", 10)
    peer = FakePeer("mlserver", FakeServer("http://127.0.0.1:2", 20),
                    Target("http://127.0.0.1:2/v2/models/m/infer", "POST", b"{}"))  # fmt: skip
    rates = {a1rt.url + "/api/v2/predict": 100.0, a1rt.url + "/health/live": 400.0,
             peer.target.url: 10.0}  # fmt: skip
    generator = FakeGenerator(rates)
    config = RestConfig.for_run(quick=True)
    figures = _throughput(generator, a1rt, config, [peer])  # type: ignore[arg-type,list-item]
    assert [c for _, c in generator.order] == [8, 8, 8, 32, 32, 32]  # one concurrency at a time
    assert figures["predict_max_per_s"] == 3200.0 and figures["peers_max_per_s"] == {
        "mlserver": 320.0
    }
    assert figures["ratio"] == 0.25 and figures["predict_over_peer"] == {"mlserver": 10.0}


def test_peers_every_scenario_accepts_smoke() -> None:
    import importlib

    from bench.__main__ import SCENARIOS

    for name in SCENARIOS:
        assert accepts_smoke(importlib.import_module(f"bench.{name}")), name
