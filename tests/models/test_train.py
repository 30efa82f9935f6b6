from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from a1rt.models import DatasetUnavailable, TrainingFailed, train_models
from a1rt.models import train as train_module
from a1rt.models.manifest import read_manifest, sha256_file
from a1rt.models.members import MemberParams, TrainingSplit, fit_member
from a1rt.models.train import split_seasons, train_model
from a1rt.models.versions import next_version


def test_split_seasons_is_time_ordered_and_disjoint() -> None:
    split = split_seasons(np.repeat(np.arange(10), 3))
    assert split.train == (0, 1, 2, 3, 4, 5)
    assert split.validation == (6, 7) and split.test == (8, 9)
    small = split_seasons(np.array([3, 3, 4, 5, 5]))
    assert (small.train, small.validation, small.test) == ((3,), (4,), (5,))
    with pytest.raises(DatasetUnavailable, match="at least 3 seasons"):
        split_seasons(np.array([0, 1, 1]))


def test_train_model_is_deterministic_by_seed(dataset_factory, tiny_params, tmp_path: Path) -> None:
    dataset = dataset_factory("test_h2h", rows_per_season=400)
    first = train_model(dataset, tmp_path / "a", seed=5, params=tiny_params)
    again = train_model(dataset, tmp_path / "b", seed=5, params=tiny_params)
    other = train_model(dataset, tmp_path / "c", seed=6, params=tiny_params)
    assert first.members == again.members  # every artifact byte-identical (same sha256)
    assert first.files == again.files and first.weights == again.weights
    assert first.calibration == again.calibration
    assert first.members != other.members


def test_train_model_writes_a_complete_manifest(trained_three_way) -> None:
    manifest = read_manifest(trained_three_way.version_dir)
    assert manifest == trained_three_way.manifest
    assert manifest.outcomes == ("home", "draw", "away")
    assert [f.name for f in manifest.features] == [f"x{i}" for i in range(6)]
    assert [m.kind for m in manifest.members] == ["xgboost", "lightgbm", "random_forest", "mlp"]
    for member in manifest.members:
        assert sha256_file(trained_three_way.version_dir / member.artifact) == member.sha256
    assert np.isclose(sum(manifest.weights.values()), 1.0)
    assert min(manifest.weights.values()) >= 0.0
    assert len(manifest.calibration.bias) == 3 and manifest.calibration.bias[0] == 0.0
    assert {"xgboost", "lightgbm", "scikit-learn", "treelite", "tl2cgen", "numpy"} <= set(
        manifest.libraries
    )
    assert manifest.data.test_seasons == (4,) and manifest.data.validation_seasons == (3,)
    assert manifest.data.n_test == 800 and manifest.data.fingerprint
    raw = json.loads((trained_three_way.version_dir / "manifest.json").read_text())
    assert raw["features"][0] == {"name": "x0", "type": "float", "min": -8.0, "max": 8.0}


def test_train_model_leaves_no_staging_directory_on_failure(
    dataset_factory, tiny_params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise TrainingFailed("fitting lightgbm failed: boom")

    monkeypatch.setattr(train_module, "fit_member", explode)
    with pytest.raises(TrainingFailed, match="boom"):
        train_model(dataset_factory(rows_per_season=100), tmp_path, params=tiny_params)
    assert list((tmp_path / "test_h2h").iterdir()) == []


def test_train_model_refuses_a_malformed_dataset(dataset_factory, tmp_path: Path) -> None:
    dataset = dataset_factory(rows_per_season=50)
    dataset.X[3, 2] = np.nan
    with pytest.raises(DatasetUnavailable, match="non-finite"):
        train_model(dataset, tmp_path)


def test_train_models_trains_each_named_model_with_progress(
    dataset_factory,
    tiny_params,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def simulate(name: str, *, seed: int, seasons: int) -> object:
        return dataset_factory(name, rows_per_season=300, seed=seed)

    monkeypatch.setattr(train_module, "build_simulated_dataset", simulate)
    monkeypatch.setattr(train_module, "MemberParams", lambda: tiny_params)
    manifests = train_models(tmp_path, ["one_h2h", "two_h2h"], seed=3, progress=True)
    assert [m.name for m in manifests] == ["one_h2h", "two_h2h"]
    assert all(m.data.source == "simulation" and m.data.seed == 3 for m in manifests)
    assert "two_h2h" in capsys.readouterr().out


def test_build_simulated_dataset_translates_unknown_names() -> None:
    with pytest.raises(DatasetUnavailable):
        train_module.build_simulated_dataset("curling_h2h", seed=1, seasons=3)


def test_next_version_sorts_after_existing_and_skips_collisions(tmp_path: Path) -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert next_version(tmp_path / "missing", now) == "20260102-030405"
    (tmp_path / "20260102-030405").mkdir()
    (tmp_path / ".staging-20260102-030406-77").mkdir()
    (tmp_path / "20270101-000000").mkdir()
    assert next_version(tmp_path, now) == "20270101-000001"
    (tmp_path / "20270101-000000").rmdir()
    assert next_version(tmp_path, now) == "20260102-030407"


def test_fit_member_translates_library_errors(tmp_path: Path) -> None:
    X = np.zeros((10, 2), dtype=np.float32)
    split = TrainingSplit(X, np.zeros(10, dtype=np.int64), X, np.zeros(10, dtype=np.int64), 2)
    for kind in ("random_forest", "mlp"):  # a single-outcome training set cannot be fitted
        with pytest.raises(TrainingFailed, match=kind):
            fit_member(kind, split, MemberParams(), 0, tmp_path)
    with pytest.raises(TrainingFailed, match="xgboost"):
        fit_member("xgboost", split, MemberParams(), 0, tmp_path / "missing" / "dir")
