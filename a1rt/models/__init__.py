"""Models: training, Treelite compilation, the ensemble, the registry, explanations, evaluation.

The heavy parts (XGBoost, LightGBM, scikit-learn, Treelite, shap) are imported on first use of a
name that needs them, so ``import a1rt.models.dataset`` (the simulator's contract) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from a1rt.models._exceptions import (
    DatasetUnavailable,
    InvalidFeatures,
    ModelError,
    ModelNotFound,
    ModelRefused,
    TrainingFailed,
)
from a1rt.models.dataset import Dataset, FeatureSpec

if TYPE_CHECKING:
    from a1rt.models.evaluation import default_build_dir, evaluate_dataset, evaluate_model
    from a1rt.models.explain import Explanation
    from a1rt.models.loaded import EnsembleOutput, LoadedModel
    from a1rt.models.manifest import Calibration, DataSplit, Manifest, MemberSpec
    from a1rt.models.members import MemberParams
    from a1rt.models.registry import LoadReport, ModelRegistry
    from a1rt.models.train import DEFAULT_MODELS, train_model, train_models

__all__ = [
    "DEFAULT_MODELS",
    "Calibration",
    "DataSplit",
    "Dataset",
    "DatasetUnavailable",
    "EnsembleOutput",
    "Explanation",
    "FeatureSpec",
    "InvalidFeatures",
    "LoadReport",
    "LoadedModel",
    "Manifest",
    "MemberParams",
    "MemberSpec",
    "ModelError",
    "ModelNotFound",
    "ModelRefused",
    "ModelRegistry",
    "TrainingFailed",
    "default_build_dir",
    "evaluate_dataset",
    "evaluate_model",
    "train_model",
    "train_models",
]

_LAZY = {
    "default_build_dir": "evaluation",
    "evaluate_dataset": "evaluation",
    "evaluate_model": "evaluation",
    "Explanation": "explain",
    "EnsembleOutput": "loaded",
    "LoadedModel": "loaded",
    "Calibration": "manifest",
    "DataSplit": "manifest",
    "Manifest": "manifest",
    "MemberSpec": "manifest",
    "MemberParams": "members",
    "LoadReport": "registry",
    "ModelRegistry": "registry",
    "DEFAULT_MODELS": "train",
    "train_model": "train",
    "train_models": "train",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
