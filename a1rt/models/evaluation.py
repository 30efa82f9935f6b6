"""Held-out evaluation against the Bayes-optimal floor and the market, with a reliability diagram.

The test seasons recorded in the manifest were never seen by training, early stopping or the blend.
Three forecasters are scored on the same rows: the model (as served, compiled), the simulator's true
probabilities (no forecaster can beat them in expectation) and the devigged market consensus.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from a1rt.models._exceptions import DatasetUnavailable, ModelError, ModelNotFound
from a1rt.models.dataset import Dataset
from a1rt.models.loaded import BackendChoice, load_version, resolve_compiler
from a1rt.models.manifest import Manifest, read_manifest, write_manifest
from a1rt.models.registry import ModelRegistry
from a1rt.models.scores import N_BINS, paired_difference_ci95, reliability, score
from a1rt.models.train import build_simulated_dataset, dataset_fingerprint

EVALUATION_FILE = "evaluation.json"
RELIABILITY_FILE = "reliability.png"
TARGET_LOG_LOSS_RATIO = 1.02  # held-out log loss / Bayes-optimal log loss, win-probability models
TARGET_ECE = 0.015
FORECASTERS = ("model", "bayes_optimal", "market")

F64 = npt.NDArray[np.float64]
logger = logging.getLogger(__name__)


def default_build_dir(models_dir: Path) -> Path:
    """Where compiled libraries are cached by default: ``<models_dir>/build`` (git-ignored)."""
    return Path(models_dir) / "build"


def evaluate_model(
    models_dir: Path,
    name: str,
    version: str | None = None,
    *,
    build_dir: Path | None = None,
    backend: BackendChoice = "auto",
) -> dict[str, Any]:
    """Score a version (default: the newest) on its held-out seasons and record the result."""
    version_dir = _version_dir(Path(models_dir), name, version)
    manifest = read_manifest(version_dir)
    if manifest.data.source != "simulation":
        raise DatasetUnavailable(
            f"{name}: trained on {manifest.data.source!r} data; use evaluate_dataset with that data"
        )
    data = build_simulated_dataset(name, seed=manifest.data.seed, seasons=manifest.data.seasons)
    build = build_dir or default_build_dir(Path(models_dir))
    return evaluate_dataset(version_dir, data, build_dir=build, backend=backend)


def evaluate_dataset(
    version_dir: Path,
    dataset: Dataset,
    *,
    build_dir: Path,
    backend: BackendChoice = "auto",
) -> dict[str, Any]:
    """Score a version on the manifest's test seasons of ``dataset``; write JSON, PNG, manifest."""
    model = load_version(version_dir, build_dir, resolve_compiler(backend))
    manifest = model.manifest
    rows = np.isin(dataset.season, manifest.data.test_seasons)
    if not rows.any():
        raise DatasetUnavailable(f"no rows in the test seasons {manifest.data.test_seasons}")
    y = np.asarray(dataset.y[rows], dtype=np.int64)
    forecasts = {  # keys in FORECASTERS order
        "model": model.predict(dataset.X[rows]).probabilities,
        "bayes_optimal": np.asarray(dataset.true_p[rows], dtype=np.float64),
        "market": np.asarray(dataset.market_p[rows], dtype=np.float64),
    }
    report = _report(manifest, forecasts, y, model.backend, dataset_fingerprint(dataset))
    try:
        _plot_reliability(version_dir / RELIABILITY_FILE, manifest, forecasts, y)
        _write_report(version_dir, manifest, report)
    except OSError as exc:
        raise ModelError(f"cannot record the evaluation in {version_dir}: {exc}") from exc
    return report


def _report(
    manifest: Manifest,
    forecasts: dict[str, F64],
    y: npt.NDArray[np.int64],
    backend: str,
    fingerprint: str,
) -> dict[str, Any]:
    model, bayes, market = (score(forecasts[key], y) for key in FORECASTERS)
    ratio = model.log_loss / bayes.log_loss
    matches = fingerprint == manifest.data.fingerprint
    if not matches:
        logger.warning("%s/%s: evaluation data differs from training data", *_label(manifest))
    return {
        "n": len(y),
        **model.as_dict(),
        **bayes.as_dict("bayes_optimal_"),
        **market.as_dict("market_"),
        "log_loss_ratio_to_bayes": ratio,
        "skill_vs_market": 1.0 - model.log_loss / market.log_loss,
        "log_loss_diff_vs_market_ci95": paired_difference_ci95(
            forecasts["model"], forecasts["market"], y
        ),
        "targets": {
            "log_loss_ratio_to_bayes_max": TARGET_LOG_LOSS_RATIO,
            "ece_max": TARGET_ECE,
            "met": ratio <= TARGET_LOG_LOSS_RATIO and model.ece <= TARGET_ECE,
        },
        "outcomes": list(manifest.outcomes),
        "test_seasons": list(manifest.data.test_seasons),
        "n_bins": N_BINS,
        "backend": backend,
        "version": manifest.version,
        "evaluated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_matches_training": matches,
    }


def _label(manifest: Manifest) -> tuple[str, str]:
    return manifest.name, manifest.version


def _plot_reliability(
    path: Path, manifest: Manifest, forecasts: dict[str, F64], y: npt.NDArray[np.int64]
) -> None:
    k = len(manifest.outcomes)
    figure = Figure(figsize=(4.0 * k, 4.0), dpi=72, layout="constrained")
    FigureCanvasAgg(figure)
    for outcome, axes in enumerate(figure.subplots(1, k, squeeze=False)[0]):
        axes.plot([0, 1], [0, 1], color="0.7", linewidth=1)
        for label, style in (("model", "o-"), ("market", "s--"), ("bayes_optimal", "^:")):
            curve = reliability(forecasts[label], y, outcome)
            axes.plot(
                curve.forecast,
                curve.observed,
                style,
                markersize=4,
                label=f"{label} (ECE {curve.ece:.3f})",
            )
        axes.set(
            title=f"{manifest.outcomes[outcome]}",
            xlabel="forecast probability",
            ylabel="observed frequency",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        axes.legend(loc="upper left", fontsize=8)
    figure.suptitle(f"{manifest.name} {manifest.version}: held-out reliability ({len(y)} rows)")
    figure.savefig(path)


def _write_report(version_dir: Path, manifest: Manifest, report: dict[str, Any]) -> None:
    encoded = msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"
    (version_dir / EVALUATION_FILE).write_bytes(encoded)
    write_manifest(version_dir, msgspec.structs.replace(manifest, evaluation=report))


def _version_dir(models_dir: Path, name: str, version: str | None) -> Path:
    versions = ModelRegistry(models_dir, default_build_dir(models_dir)).versions_on_disk(name)
    if not versions:
        raise ModelNotFound(name, f"no version under {models_dir / name}")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise ModelNotFound(name, f"no version {chosen}")
    return models_dir / name / chosen
