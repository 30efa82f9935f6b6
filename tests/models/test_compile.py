from __future__ import annotations

import logging
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import tl2cgen
import treelite
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier

from a1rt.models import ModelRefused, ModelRegistry
from a1rt.models import compile as compile_module
from a1rt.models.compile import compiled_library, import_tree_model, tree_predictor
from a1rt.models.loaded import load_version

rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 5)).astype(np.float32)
Y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
PROBE = np.ascontiguousarray(rng.normal(size=(500, 5)).astype(np.float32) * 2)


def _xgboost(path: Path, k: int) -> np.ndarray:
    y = Y3 if k == 3 else Y3.clip(0, 1)
    params = (
        {"objective": "multi:softprob", "num_class": 3}
        if k == 3
        else {"objective": "binary:logistic"}
    )
    booster = xgb.train({**params, "max_depth": 4, "nthread": 1}, xgb.DMatrix(X, y), 15)
    booster.save_model(path)
    return np.asarray(booster.predict(xgb.DMatrix(PROBE), output_margin=True)).reshape(500, -1)


def _lightgbm(path: Path, k: int) -> np.ndarray:
    y = Y3 if k == 3 else Y3.clip(0, 1)
    params = {"objective": "multiclass", "num_class": 3} if k == 3 else {"objective": "binary"}
    booster = lgb.train(
        {**params, "num_leaves": 7, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 15
    )
    booster.save_model(str(path))
    return np.asarray(booster.predict(PROBE, raw_score=True)).reshape(500, -1)


def _random_forest(path: Path, k: int) -> np.ndarray:
    y = Y3 if k == 3 else Y3.clip(0, 1)
    forest = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, y)
    treelite.sklearn.import_model(forest).serialize(str(path))
    return np.asarray(forest.predict_proba(PROBE))


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize(
    ("kind", "fit", "file_name"),
    [
        ("xgboost", _xgboost, "m.ubj"),
        ("lightgbm", _lightgbm, "m.txt"),
        ("random_forest", _random_forest, "m.tl"),
    ],
)
@pytest.mark.parametrize("compiler", ["gcc", None])
def test_tree_predictor_matches_native_prediction(
    kind: str, fit: object, file_name: str, k: int, compiler: str | None, tmp_path: Path
) -> None:
    native = fit(tmp_path / file_name, k)  # type: ignore[operator]
    model = import_tree_model(kind, tmp_path / file_name)  # type: ignore[arg-type]
    predictor = tree_predictor(model, f"{kind}{k}", tmp_path / "build", compiler=compiler)
    assert predictor.backend == ("gtil" if compiler is None else "tl2cgen")
    served = predictor.raw(PROBE)
    assert served.shape == native.shape
    assert np.abs(served - native).max() <= 1e-5


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize(
    ("kind", "fit", "file_name"),
    [
        ("xgboost", _xgboost, "m.ubj"),
        ("lightgbm", _lightgbm, "m.txt"),
        ("random_forest", _random_forest, "m.tl"),
    ],
)
def test_tree_predictor_small_batches_take_the_kernel_and_match_the_batch_path(
    kind: str, fit: object, file_name: str, k: int, tmp_path: Path
) -> None:
    native = fit(tmp_path / file_name, k)  # type: ignore[operator]
    model = import_tree_model(kind, tmp_path / file_name)  # type: ignore[arg-type]
    predictor = tree_predictor(model, f"{kind}{k}", tmp_path / "build", compiler="gcc")
    assert predictor._row is not None  # the fast path verified itself and is in use
    batch = predictor.raw(PROBE)  # 500 rows: TL2cgen's batch runtime
    rows = np.vstack([predictor.raw(PROBE[i : i + 1]) for i in range(100)])
    assert np.array_equal(rows, batch[:100])
    assert np.abs(rows - native[:100]).max() <= 1e-5
    size = compile_module.ROW_KERNEL_ROWS
    small = [predictor.raw(PROBE[i : i + size]) for i in range(0, 100, size)]
    assert np.array_equal(np.vstack(small)[:100], batch[:100])
    first = predictor.raw(PROBE[:3])  # a later call does not overwrite an earlier answer
    predictor.raw(PROBE[3:6])
    assert np.array_equal(first, batch[:3])


def test_compiled_library_is_reused_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _xgboost(tmp_path / "m.ubj", 2)
    model = import_tree_model("xgboost", tmp_path / "m.ubj")
    first = compiled_library(model, "c0ffee", tmp_path / "build", "gcc")

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("recompiled a cached library")

    monkeypatch.setattr(tl2cgen, "export_lib", fail)
    assert compiled_library(model, "c0ffee", tmp_path / "build", "gcc") == first
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no staging left behind


def test_registry_falls_back_to_gtil_without_a_compiler(
    trained_binary,
    build_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    compiled = load_version(trained_binary.version_dir, build_dir, "gcc")
    monkeypatch.setattr(compile_module.shutil, "which", lambda name: None)
    registry = ModelRegistry(trained_binary.models_dir, build_dir)
    with caplog.at_level(logging.WARNING):
        [report] = registry.load_all()
    model = registry.get(report.name)
    assert model.backend == "gtil"
    assert "no C compiler" in caplog.text
    X_test = trained_binary.dataset.X[:200]
    np.testing.assert_allclose(
        model.predict(X_test).probabilities, compiled.predict(X_test).probabilities, atol=1e-6
    )


def test_compile_failure_refuses_the_model_naming_the_member(
    trained_binary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise tl2cgen.exception.TL2cgenError("gcc: internal compiler error: Killed")

    monkeypatch.setattr(tl2cgen, "export_lib", broken)
    with pytest.raises(ModelRefused, match="member xgboost: .*internal compiler error"):
        load_version(trained_binary.version_dir, tmp_path / "build", "gcc")
