"""Every error the models package raises.

ModelError
├── ModelNotFound        no model (or version) of that name is loaded or on disk
├── ModelRefused         an artifact failed to load, match its checksum, compile or verify
├── InvalidFeatures      a batch handed to predict/explain has the wrong shape or values
├── TrainingFailed       a learning library raised while fitting a member
└── DatasetUnavailable   no training data can be built for a model name

Foreign errors (xgboost, lightgbm, scikit-learn, treelite, tl2cgen, OSError) are translated at the
boundary with ``raise … from exc``, so callers catch ``ModelError`` and logs keep the cause.
"""

from __future__ import annotations


class ModelError(Exception):
    """Raised when anything in the models package fails; the root of its hierarchy."""


class ModelNotFound(ModelError):
    """Raised when a model name (or a version of it) is not loaded or not on disk."""

    def __init__(self, name: str, detail: str = "") -> None:
        self.name = name
        super().__init__(f"model {name!r} not found" + (f": {detail}" if detail else ""))


class ModelRefused(ModelError):
    """Raised when a model version is refused: corrupt or missing file, checksum mismatch,
    compilation failure or compiled output disagreeing with the native prediction."""

    def __init__(self, name: str, version: str, reason: str) -> None:
        self.name = name
        self.version = version
        self.reason = reason
        super().__init__(f"model {name}/{version} refused: {reason}")


class InvalidFeatures(ModelError, ValueError):
    """Raised when a batch is not a finite (n, n_features) array for the model."""


class TrainingFailed(ModelError):
    """Raised when a learning library fails while fitting or saving a member."""


class DatasetUnavailable(ModelError):
    """Raised when no training or evaluation data can be built for a model name."""
