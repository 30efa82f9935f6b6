from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from a1rt.models import InvalidFeatures, LoadedModel
from a1rt.models.loaded import load_version


@pytest.fixture(params=["binary", "three_way"])
def loaded(request: pytest.FixtureRequest, build_dir: Path) -> tuple[LoadedModel, object]:
    trained = request.getfixturevalue(f"trained_{request.param}")
    return load_version(trained.version_dir, build_dir, "gcc"), trained


def test_loaded_model_probabilities_sum_to_one(loaded: tuple[LoadedModel, object]) -> None:
    model, trained = loaded
    out = model.predict(trained.dataset.X[:300])  # type: ignore[attr-defined]
    k = len(model.outcomes)
    assert out.probabilities.shape == (300, k)
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert ((out.probabilities > 0) & (out.probabilities < 1)).all()
    assert set(out.members) == {"xgboost", "lightgbm", "random_forest", "mlp"}
    for member in out.members.values():
        assert member.shape == (300, k)
        np.testing.assert_allclose(member.sum(axis=1), 1.0, atol=1e-9)
    assert out.confidence.shape == (300,)
    assert ((out.confidence >= 0) & (out.confidence <= 1)).all()


def test_loaded_model_describes_itself(trained_binary, build_dir: Path) -> None:
    model = load_version(trained_binary.version_dir, build_dir, "gcc")
    assert model.name == "test_h2h" and model.version == trained_binary.manifest.version
    assert model.backend == "tl2cgen"
    assert model.feature_names == tuple(f"x{i}" for i in range(6))
    assert model.outcomes == ("home", "away")
    with pytest.raises(AttributeError):
        model.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [np.zeros((1, 5)), np.zeros(6), np.zeros((0, 6)), np.full((1, 6), np.nan)],
    ids=["columns", "1d", "empty", "nan"],
)
def test_loaded_model_rejects_malformed_batches(
    trained_binary, build_dir: Path, bad: np.ndarray
) -> None:
    model = load_version(trained_binary.version_dir, build_dir, "gcc")
    with pytest.raises(InvalidFeatures):
        model.predict(bad)


def test_loaded_model_accepts_float64_and_strided_input(trained_binary, build_dir: Path) -> None:
    model = load_version(trained_binary.version_dir, build_dir, "gcc")
    X = trained_binary.dataset.X[:50]
    expected = model.predict(X).probabilities
    wide = np.asfortranarray(X.astype(np.float64))
    np.testing.assert_allclose(model.predict(wide).probabilities, expected, atol=1e-12)


def test_explanation_adds_up_to_the_explained_log_odds(
    loaded: tuple[LoadedModel, object],
) -> None:
    model, trained = loaded
    X = trained.dataset.X[:40]  # type: ignore[attr-defined]
    explanation = model.explain(X)
    total = explanation.base_value + explanation.contributions.sum(axis=1)
    assert np.abs(total - explanation.value).max() <= 1e-3
    p = model.predict(X).probabilities
    k = len(model.outcomes)
    chosen = [model.outcomes.index(o) for o in explanation.outcome]
    logp = np.log(p)
    expected = np.array(
        [logp[i, c] - (logp[i].sum() - logp[i, c]) / (k - 1) for i, c in enumerate(chosen)]
    )
    np.testing.assert_allclose(explanation.value, expected, atol=1e-9)
    assert set(explanation.row(0)) == set(model.feature_names)


def test_explanation_of_two_outcomes_is_the_log_odds_of_outcome_zero(
    trained_binary, build_dir: Path
) -> None:
    model = load_version(trained_binary.version_dir, build_dir, "gcc")
    X = trained_binary.dataset.X[:20]
    explanation = model.explain(X)
    p = model.predict(X).probabilities
    assert set(explanation.outcome) == {"home"}
    np.testing.assert_allclose(explanation.value, np.log(p[:, 0] / p[:, 1]), atol=1e-9)


def test_explanation_credits_the_features_the_truth_uses(trained_binary, build_dir: Path) -> None:
    model = load_version(trained_binary.version_dir, build_dir, "gcc")
    explanation = model.explain(trained_binary.dataset.X[:200])
    importance = np.abs(explanation.contributions).mean(axis=0)
    assert importance[0] == importance.max()  # x0 carries the largest true coefficient
    assert importance[5] < importance[0] / 5  # x5 plays no part in the two-outcome truth


def test_loaded_model_compiled_ensemble_is_faster_per_row(trained_binary, build_dir: Path) -> None:
    compiled = load_version(trained_binary.version_dir, build_dir, "gcc")
    interpreted = load_version(trained_binary.version_dir, build_dir, None)
    row = np.ascontiguousarray(trained_binary.dataset.X[:1])
    assert _per_call(compiled, row) < _per_call(interpreted, row)


def _per_call(model: LoadedModel, row: np.ndarray, repeats: int = 200) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            model.predict(row)
        best = min(best, (time.perf_counter() - start) / repeats)
    return best
