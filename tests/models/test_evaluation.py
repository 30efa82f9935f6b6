from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from a1rt.models import DatasetUnavailable, ModelNotFound, evaluate_dataset, evaluate_model
from a1rt.models.evaluation import _report
from a1rt.models.manifest import read_manifest
from a1rt.models.train import dataset_fingerprint, train_model

REQUIRED = {
    "n",
    "log_loss",
    "bayes_optimal_log_loss",
    "market_log_loss",
    "brier",
    "bayes_optimal_brier",
    "market_brier",
    "ece",
    "bayes_optimal_ece",
    "market_ece",
    "accuracy",
    "bayes_optimal_accuracy",
    "market_accuracy",
    "skill_vs_market",
    "log_loss_ratio_to_bayes",
}


def test_evaluate_dataset_writes_report_plot_and_manifest(
    trained_three_way, copy_models, build_dir: Path
) -> None:
    models_dir = copy_models(trained_three_way)
    version_dir = models_dir / trained_three_way.manifest.name / trained_three_way.manifest.version
    report = evaluate_dataset(version_dir, trained_three_way.dataset, build_dir=build_dir)
    assert REQUIRED <= set(report)
    assert report["n"] == 800 and report["test_seasons"] == [4]
    assert len(report["ece_per_outcome"]) == 3 and report["data_matches_training"]
    assert json.loads((version_dir / "evaluation.json").read_text()) == json.loads(
        json.dumps(report)
    )
    assert (version_dir / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_manifest(version_dir).evaluation == json.loads(json.dumps(report))
    assert report["bayes_optimal_log_loss"] <= report["log_loss"] * 1.05


def test_evaluation_of_the_true_probabilities_scores_the_bayes_floor(trained_binary) -> None:
    data = trained_binary.dataset
    rows = data.season == 4
    truth = data.true_p[rows]
    forecasts = {"model": truth, "bayes_optimal": truth, "market": data.market_p[rows]}
    report = _report(trained_binary.manifest, forecasts, data.y[rows], "tl2cgen", "x")
    assert report["log_loss"] == report["bayes_optimal_log_loss"]
    assert report["log_loss_ratio_to_bayes"] == 1.0
    assert report["skill_vs_market"] > 0  # the market is noisier than the truth
    assert not report["data_matches_training"]


def test_a_model_with_perfect_information_reaches_the_bayes_floor(
    dataset_factory, tiny_params, tmp_path: Path, build_dir: Path
) -> None:
    dataset = dataset_factory("perfect_h2h", rows_per_season=3000, logit_feature=True)
    manifest = train_model(dataset, tmp_path, seed=1, params=tiny_params)
    report = evaluate_dataset(
        tmp_path / "perfect_h2h" / manifest.version, dataset, build_dir=build_dir, backend="gtil"
    )
    assert report["log_loss_ratio_to_bayes"] < 1.01
    assert report["skill_vs_market"] > 0


def test_evaluate_model_needs_rebuildable_data(trained_binary, copy_models) -> None:
    models_dir = copy_models(trained_binary)
    with pytest.raises(DatasetUnavailable, match="external"):
        evaluate_model(models_dir, "test_h2h")
    with pytest.raises(ModelNotFound):
        evaluate_model(models_dir, "test_h2h", "19990101-000000")
    with pytest.raises(ModelNotFound):
        evaluate_model(models_dir, "nope")


def test_dataset_fingerprint_changes_with_the_rows(dataset_factory) -> None:
    a = dataset_factory(rows_per_season=20)
    b = dataset_factory(rows_per_season=20, seed=1)
    assert dataset_fingerprint(a) == dataset_fingerprint(dataset_factory(rows_per_season=20))
    assert dataset_fingerprint(a) != dataset_fingerprint(b)
    assert np.array_equal(a.X, dataset_factory(rows_per_season=20).X)
