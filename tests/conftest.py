"""Fixtures shared by every test package: the anyio backend, synthetic datasets with an exact
ground truth, and tiny trained models."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from a1rt.models.dataset import Dataset, FeatureSpec
from a1rt.models.manifest import Manifest
from a1rt.models.members import MemberParams
from a1rt.models.train import train_model

N_FEATURES = 6
TINY = MemberParams(
    n_threads=1,  # the suite may share its two cores; OpenMP spinning on a busy core is slow
    max_rounds=30,
    learning_rate=0.2,
    xgb_depth=3,
    lgb_leaves=7,
    rf_trees=8,
    rf_depth=4,
    rf_min_leaf=20,
    mlp_hidden=(16,),
    mlp_max_iter=30,
)
DatasetFactory = Callable[..., Dataset]


def true_logits(X: np.ndarray, n_outcomes: int) -> np.ndarray:
    """Per-outcome logits of the ground truth."""
    signal = 1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + 0.3 * np.tanh(X[:, 4])
    if n_outcomes == 2:
        return np.stack([signal, np.zeros_like(signal)], axis=1)
    draw = 0.4 - 0.6 * np.abs(signal) + 0.3 * X[:, 5]
    return np.stack([signal / 2, draw, -signal / 2], axis=1)


def synthetic_dataset(
    name: str = "test_h2h",
    *,
    n_outcomes: int = 2,
    seasons: int = 5,
    rows_per_season: int = 800,
    seed: int = 0,
    logit_feature: bool = False,
) -> Dataset:
    """Time-ordered rows, outcomes drawn from exact softmax probabilities, a noisy market.

    With ``logit_feature`` (binary only) the true log-odds of outcome 0 are 1.5 * x0: a model that
    learns that one function has perfect information.
    """
    rng = np.random.default_rng(seed)
    n = seasons * rows_per_season
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    logits = true_logits(X.astype(np.float64), n_outcomes)
    if logit_feature:  # the truth depends on x0 alone
        logits = np.stack([1.5 * X[:, 0].astype(np.float64), np.zeros(n)], axis=1)
    true_p = np.exp(logits - logits.max(axis=1, keepdims=True))
    true_p /= true_p.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    y = (u > np.cumsum(true_p, axis=1)).sum(axis=1).astype(np.int64)
    market = np.exp(np.log(true_p) + rng.normal(scale=0.25, size=true_p.shape))
    return Dataset(
        name=name,
        features=tuple(FeatureSpec(f"x{i}", "float", -8.0, 8.0) for i in range(N_FEATURES)),
        outcomes=("home", "away") if n_outcomes == 2 else ("home", "draw", "away"),
        X=np.ascontiguousarray(X),
        y=y,
        true_p=true_p,
        market_p=market / market.sum(axis=1, keepdims=True),
        season=np.repeat(np.arange(seasons, dtype=np.int64), rows_per_season),
        available_at=np.arange(n, dtype=np.float64) * 3600.0,
    )


@dataclass(frozen=True)
class Trained:
    """A trained model on disk and the data it came from."""

    models_dir: Path
    manifest: Manifest
    dataset: Dataset

    @property
    def version_dir(self) -> Path:
        return self.models_dir / self.manifest.name / self.manifest.version


@pytest.fixture(scope="session")
def dataset_factory() -> DatasetFactory:
    return synthetic_dataset


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compile cache for the session, so each artifact compiles once."""
    return tmp_path_factory.mktemp("build")


@pytest.fixture(scope="session")
def trained_binary(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    dataset = synthetic_dataset("test_h2h")
    models_dir = tmp_path_factory.mktemp("binary")
    return Trained(models_dir, train_model(dataset, models_dir, seed=1, params=TINY), dataset)


@pytest.fixture(scope="session")
def trained_three_way(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    dataset = synthetic_dataset("test_3way", n_outcomes=3)
    models_dir = tmp_path_factory.mktemp("three_way")
    return Trained(models_dir, train_model(dataset, models_dir, seed=1, params=TINY), dataset)


@pytest.fixture
def copy_models(tmp_path: Path) -> Callable[[Trained], Path]:
    """Copy a trained model's directory tree into this test's tmp dir (for tests that damage it)."""

    def copy(trained: Trained) -> Path:
        target = tmp_path / "models"
        shutil.copytree(trained.models_dir, target, dirs_exist_ok=True)
        return target

    return copy


@pytest.fixture(scope="session")
def tiny_params() -> MemberParams:
    """Member sizes for tests: seconds to train, under a second to compile."""
    return TINY


@pytest.fixture
def train_newer() -> Callable[[Trained, Path], str]:
    """Train a newer version (seed 2) of a trained model's dataset into ``models_dir``."""

    def train(trained: Trained, models_dir: Path) -> str:
        return train_model(trained.dataset, models_dir, seed=2, params=TINY).version

    return train


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
