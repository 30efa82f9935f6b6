"""The two peers of the `rest` scenario, each serving the a1rt model's XGBoost member.

Both load the very booster file a1rt ships in its models dir (``xgboost.ubj`` of the newest
version of the model) and answer the same event, so a peer and a1rt differ only in the
serving stack: a1rt runs its whole compiled ensemble per request, the peers only the XGBoost
member (natively), which favours the peers.

- MLServer 1.7 with `mlserver_xgboost.XGBoostModel`, its V2 (Open Inference Protocol) REST
  ``/v2/models/{name}/infer`` with the 8 features as one FP32 tensor, output ``predict`` (the
  runtime loads a bare ``binary:logistic`` booster as an `XGBRegressor`, whose ``predict`` is
  the probability and which refuses ``predict_proba``); settings as a production deployment
  would set them: access logs off (``debug: false``; its default logs every request),
  adaptive batching off (its default; one event per request cannot batch),
  ``parallel_workers: 0`` (inference in the HTTP process; its default 1
  puts it in a worker process behind a queue: 635/s against 777/s at concurrency 8 here) and
  ``OMP_NUM_THREADS=1`` (with XGBoost's default of one OpenMP thread per core, the spinning
  threads starve the event loop on 2 cores: 94/s against 777/s). Each peer gets its best
  configuration found, so a ratio against it is not flattered by a mistuned peer.
- FastAPI + uvicorn (`fastapi_app.py`), uvicorn's defaults (uvloop, httptools, one process),
  an ``async def`` route with a pydantic body and `Booster.inplace_predict`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a1rt.models.manifest import read_manifest

from ..server import free_port
from .process import PeerServer
from .venvs import FASTAPI, MLSERVER, PeerVenv

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "compiled_models"
MLSERVER_PARALLEL_WORKERS = 0  # measured: 0 beats its default 1 on 2 cores (see the docstring)
MLSERVER_ENV = {"OMP_NUM_THREADS": "1"}  # measured: 8x its throughput here (see the docstring)


@dataclass(frozen=True)
class XgboostMember:
    """The XGBoost member of one model version: its booster file and feature order."""

    model: str
    version: str
    booster: Path
    features: tuple[str, ...]

    @classmethod
    def of(cls, model: str, version: str, models_dir: Path = MODELS_DIR) -> XgboostMember:
        """The member of ``model`` at ``version`` (the version the a1rt server loaded)."""
        version_dir = models_dir / model / version
        manifest = read_manifest(version_dir)
        spec = next(m for m in manifest.members if m.kind == "xgboost")
        return cls(model, version, version_dir / spec.artifact, manifest.feature_names)

    def row(self, event: dict[str, float]) -> list[float]:
        """The event's features in the booster's column order."""
        return [float(event[name]) for name in self.features]


@dataclass(frozen=True)
class Peer:
    """What the `rest` scenario needs of a peer: its venv, routes, request and answer."""

    name: str
    venv: PeerVenv
    predict_path: str
    live_path: str

    def body(self, member: XgboostMember, event: dict[str, float]) -> bytes:
        """The request body for the one event."""
        if self.name == "mlserver":
            tensor = {"name": "features", "shape": [1, len(member.features)],
                      "datatype": "FP32", "data": member.row(event)}  # fmt: skip
            return json.dumps({"inputs": [tensor], "outputs": [{"name": "predict"}]}).encode()
        return json.dumps({"model": member.model, "features": event, "explain": False}).encode()

    def home_probability(self, answer: dict[str, Any]) -> float:
        """P(home) from the peer's answer, to check it computes what a1rt's member does."""
        if self.name == "mlserver":
            return 1.0 - float(answer["outputs"][0]["data"][0])  # predict: P(label 1 = away)
        return float(answer["probabilities"]["home"])

    def server(self, member: XgboostMember, scratch: Path) -> PeerServer:
        """The peer's process, configured in ``scratch`` (not started)."""
        port = free_port()
        log = scratch / f"{self.name}.log"
        if self.name == "mlserver":
            repo = _mlserver_repository(member, scratch / "mlserver", port)
            command = [str(self.venv.path / "bin" / "mlserver"), "start", str(repo)]
            ready = f"/v2/models/{member.model}/ready"  # /v2/health/ready may precede the model
            return PeerServer(self.name, command, port, ready, log, cwd=repo, env=MLSERVER_ENV)
        features = scratch / "fastapi-features.json"
        features.write_text(json.dumps(list(member.features)))
        app = Path(__file__).with_name("fastapi_app.py")
        command = [str(self.venv.python), str(app), str(member.booster), str(features), str(port)]
        return PeerServer(self.name, command, port, self.live_path, log, cwd=scratch)


def _mlserver_repository(member: XgboostMember, repo: Path, http_port: int) -> Path:
    """settings.json and one model folder holding the member's booster as model.ubj."""
    model_dir = repo / member.model
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.ubj").write_bytes(member.booster.read_bytes())
    settings = {"http_port": http_port, "grpc_port": free_port(), "metrics_port": free_port(),
                "debug": False, "parallel_workers": MLSERVER_PARALLEL_WORKERS}  # fmt: skip
    model = {"name": member.model, "implementation": "mlserver_xgboost.XGBoostModel",
             "parameters": {"uri": "./model.ubj", "version": member.version}}  # fmt: skip
    (repo / "settings.json").write_text(json.dumps(settings, indent=2))
    (model_dir / "model-settings.json").write_text(json.dumps(model, indent=2))
    return repo


PEERS = (
    Peer("mlserver", MLSERVER, "/v2/models/{model}/infer", "/v2/health/live"),
    Peer("fastapi", FASTAPI, "/api/v2/predict", "/health/live"),
)


def settings_of(peer: Peer) -> dict[str, Any]:
    """The peer's configuration, for the record."""
    if peer.name == "mlserver":
        return {"runtime": "mlserver_xgboost.XGBoostModel", "protocol": "V2 REST, FP32 tensor",
                "output": "predict", "debug": False, "adaptive_batching": "off (default)",
                "parallel_workers": MLSERVER_PARALLEL_WORKERS, "env": MLSERVER_ENV}  # fmt: skip
    return {"server": "uvicorn defaults (uvloop, httptools, 1 process)",
            "route": "async def, pydantic body", "predict": "xgboost Booster.inplace_predict",
            "nthread": 1}  # fmt: skip
