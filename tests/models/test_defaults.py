"""The committed default models load, verify and carry their held-out evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from a1rt.models import DEFAULT_MODELS, ModelRegistry
from a1rt.models.evaluation import TARGET_LOG_LOSS_RATIO

COMPILED_MODELS = Path(__file__).resolve().parents[2] / "compiled_models"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    # gtil: the same verification against native outputs, without compiling five models here.
    registry = ModelRegistry(COMPILED_MODELS, tmp_path_factory.mktemp("build"), backend="gtil")
    reports = registry.load_all()
    assert [(r.name, r.refused) for r in reports] == [(name, ()) for name in sorted(DEFAULT_MODELS)]
    return registry


@pytest.mark.parametrize("name", DEFAULT_MODELS)
def test_defaults_load_and_predict(registry: ModelRegistry, name: str) -> None:
    model = registry.get(name)
    X = np.array([[(f.min + f.max) / 2 for f in model.manifest.features]], dtype=np.float32)
    out = model.predict(X)
    assert out.probabilities.shape == (1, len(model.outcomes))
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0)


@pytest.mark.parametrize("name", DEFAULT_MODELS)
def test_defaults_carry_their_held_out_evaluation(registry: ModelRegistry, name: str) -> None:
    evaluation = registry.get(name).manifest.evaluation
    assert evaluation is not None and evaluation["data_matches_training"]
    assert evaluation["log_loss_ratio_to_bayes"] <= TARGET_LOG_LOSS_RATIO
    version_dir = COMPILED_MODELS / name / registry.get(name).version
    assert (version_dir / "evaluation.json").is_file()
    assert (version_dir / "reliability.png").is_file()


def test_defaults_stay_small() -> None:
    files = [p for p in COMPILED_MODELS.rglob("*") if p.is_file() and "build" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 5_000_000
