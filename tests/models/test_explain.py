from __future__ import annotations

import numpy as np
import pytest
import treelite
from sklearn.ensemble import RandomForestClassifier

from a1rt.models.explain import (
    ForestExplainer,
    MlpExplainer,
    _import_shap,
    forest_as_shap_dict,
    outcome_contrasts,
)
from a1rt.models.mlp import NumpyMLP

rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 4)).astype(np.float32)
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)


@pytest.fixture(scope="module")
def forest() -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=6, max_depth=5, min_samples_leaf=10, random_state=0
    ).fit(X, Y)


def test_forest_from_treelite_gives_shap_values_of_the_sklearn_forest(
    forest: RandomForestClassifier,
) -> None:
    shap = _import_shap()
    direct = shap.TreeExplainer(forest)
    expected = np.asarray(direct.shap_values(X[:50]))
    ours = shap.TreeExplainer(forest_as_shap_dict(treelite.sklearn.import_model(forest)))
    np.testing.assert_allclose(np.asarray(ours.shap_values(X[:50])), expected, atol=1e-9)
    np.testing.assert_allclose(ours.expected_value, direct.expected_value, atol=1e-9)


def test_forest_explainer_log_scale_contributions_add_up(forest: RandomForestClassifier) -> None:
    explainer = ForestExplainer(treelite.sklearn.import_model(forest))
    phi, base = explainer.class_contributions(X[:30])
    log_p = np.log(np.maximum(forest.predict_proba(X[:30]), 1e-6))
    np.testing.assert_allclose(base + phi.sum(axis=1), log_p, atol=1e-6)


def test_mlp_explainer_is_additive_and_ignores_unused_features() -> None:
    w1 = np.array([[1.0, -1.0], [0.5, 0.5], [0.0, 0.0]])  # feature 2 never used
    weights = (w1, np.array([[1.0], [-2.0]]))
    mlp = NumpyMLP(np.zeros(3), np.ones(3), weights, (np.zeros(2), np.zeros(1)), "relu")
    background = rng.normal(size=(16, 3)).astype(np.float32)
    rows = rng.normal(size=(5, 3)).astype(np.float32)
    phi, base = MlpExplainer(mlp, background).class_contributions(rows)
    logits = np.concatenate([np.zeros((5, 1)), mlp.logits(rows)], axis=1)
    np.testing.assert_allclose(base + phi.sum(axis=1), logits, atol=1e-9)
    assert np.abs(phi[:, 2, :]).max() < 1e-12


def test_outcome_contrasts_measure_log_odds_against_the_others() -> None:
    u = outcome_contrasts(np.array([0, 2]), 3)
    np.testing.assert_allclose(u, [[1, -0.5, -0.5], [-0.5, -0.5, 1]])
    np.testing.assert_allclose(outcome_contrasts(np.array([1]), 2), [[-1, 1]])
