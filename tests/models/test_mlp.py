from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from a1rt.models.mlp import NumpyMLP


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numpy_mlp_matches_sklearn_predict_proba(n_classes: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] > 0).astype(int) + (n_classes == 3) * (X[:, 1] > 1).astype(int)
    scaler = StandardScaler().fit(X)
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=20, random_state=0)
    clf.fit(scaler.transform(X), y)
    mlp = NumpyMLP.from_sklearn(scaler, clf)
    mlp.save(tmp_path / "mlp.npz")
    loaded = NumpyMLP.load(tmp_path / "mlp.npz")
    expected = clf.predict_proba(scaler.transform(X))
    np.testing.assert_allclose(loaded.probabilities(X.astype(np.float32)), expected, atol=1e-5)


def test_numpy_mlp_save_is_byte_reproducible(tmp_path: Path) -> None:
    weights = (np.eye(2), np.ones((2, 1)))
    mlp = NumpyMLP(np.zeros(2), np.ones(2), weights, (np.zeros(2), np.zeros(1)), "relu")
    mlp.save(tmp_path / "a.npz")
    mlp.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_numpy_mlp_rejects_unknown_activation() -> None:
    with pytest.raises(ValueError, match="activation"):
        NumpyMLP(np.zeros(1), np.ones(1), (np.eye(1),), (np.zeros(1),), "swish")
