"""Fitting the four ensemble members and writing their native artifacts.

Every member's *check output* is what load-time verification compares with the compiled (or
numpy) serving path: margins for XGBoost and LightGBM, class probabilities for the random forest
and the MLP.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import treelite
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from a1rt.models._exceptions import TrainingFailed
from a1rt.models.ensemble import (
    log_proba_from_margins,
    log_proba_from_probabilities,
)
from a1rt.models.manifest import MemberKind
from a1rt.models.mlp import NumpyMLP

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MEMBER_KINDS: tuple[MemberKind, ...] = ("xgboost", "lightgbm", "random_forest", "mlp")
ARTIFACTS: dict[MemberKind, str] = {
    "xgboost": "xgboost.ubj",
    "lightgbm": "lightgbm.txt",
    "random_forest": "random_forest.tl",
    "mlp": "mlp.npz",
}
_FOREIGN_ERRORS = (
    xgb.core.XGBoostError,
    lgb.basic.LightGBMError,
    treelite.TreeliteError,
    ValueError,  # scikit-learn's complaint about its input
    OSError,
)


@dataclass(frozen=True)
class MemberParams:
    """Sizes of the members: small enough to train all default models in well under 90 s.

    One thread per library: these datasets are small, so OpenMP synchronisation dominates, and on
    a shared two-core box spinning OpenMP threads collapse (measured: XGBoost 12 s with 2 threads
    vs 0.1 s with 1 while another process held a core).
    """

    n_threads: int = 1
    max_rounds: int = 150
    early_stopping_rounds: int = 20
    learning_rate: float = 0.08
    xgb_depth: int = 4
    lgb_leaves: int = 15
    rf_trees: int = 30
    rf_depth: int = 6
    rf_min_leaf: int = 100
    mlp_hidden: tuple[int, ...] = (32, 16)
    mlp_max_iter: int = 60


@dataclass(frozen=True)
class TrainingSplit:
    """Training rows to fit on and validation rows for early stopping."""

    X_train: F32
    y_train: I64
    X_val: F32
    y_val: I64
    n_classes: int


@dataclass(frozen=True)
class FittedMember:
    """A fitted member: its artifact on disk and its native predictions."""

    kind: MemberKind
    artifact: str
    check_output: Callable[[F32], F64]  # margins or probabilities, see the module docstring
    log_proba: Callable[[F32], F64]


def fit_member(
    kind: MemberKind, split: TrainingSplit, params: MemberParams, seed: int, out_dir: Path
) -> FittedMember:
    """Fit one member on the split and write its artifact into ``out_dir``."""
    fit = _FITTERS[kind]
    try:
        return fit(split, params, seed, out_dir / ARTIFACTS[kind])
    except _FOREIGN_ERRORS as exc:
        raise TrainingFailed(f"fitting {kind} failed: {exc}") from exc


def _fit_xgboost(split: TrainingSplit, params: MemberParams, seed: int, path: Path) -> FittedMember:
    binary = split.n_classes == 2
    booster_params: dict[str, Any] = {
        "objective": "binary:logistic" if binary else "multi:softprob",
        "eval_metric": "logloss" if binary else "mlogloss",
        "max_depth": params.xgb_depth,
        "eta": params.learning_rate,
        "subsample": 0.8,
        "colsample_bytree": 0.9,
        "min_child_weight": 5.0,
        "tree_method": "hist",
        "nthread": params.n_threads,
        "seed": seed,
    }
    if not binary:
        booster_params["num_class"] = split.n_classes
    dtrain = xgb.DMatrix(split.X_train, label=split.y_train, nthread=params.n_threads)
    dval = xgb.DMatrix(split.X_val, label=split.y_val, nthread=params.n_threads)
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.max_rounds,
        evals=[(dval, "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
    )
    booster = booster[: booster.best_iteration + 1]
    booster.save_model(path)

    def margins(X: F32) -> F64:
        raw = booster.predict(xgb.DMatrix(X, nthread=params.n_threads), output_margin=True)
        return np.asarray(raw, dtype=np.float64).reshape(len(X), -1)

    return FittedMember("xgboost", path.name, margins, lambda X: log_proba_from_margins(margins(X)))


def _fit_lightgbm(
    split: TrainingSplit, params: MemberParams, seed: int, path: Path
) -> FittedMember:
    binary = split.n_classes == 2
    booster_params: dict[str, Any] = {
        "objective": "binary" if binary else "multiclass",
        "num_leaves": params.lgb_leaves,
        "learning_rate": params.learning_rate,
        "min_data_in_leaf": 40,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": params.n_threads,
        "deterministic": True,
        "force_col_wise": True,
        "seed": seed,
        "verbose": -1,
    }
    if not binary:
        booster_params["num_class"] = split.n_classes
    train = lgb.Dataset(split.X_train, label=split.y_train)
    valid = lgb.Dataset(split.X_val, label=split.y_val, reference=train)
    booster = lgb.train(
        booster_params,
        train,
        num_boost_round=params.max_rounds,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    booster.save_model(str(path), num_iteration=booster.best_iteration)
    served = lgb.Booster(model_file=str(path))

    def margins(X: F32) -> F64:
        raw = served.predict(X, raw_score=True)
        return np.asarray(raw, dtype=np.float64).reshape(len(X), -1)

    return FittedMember(
        "lightgbm", path.name, margins, lambda X: log_proba_from_margins(margins(X))
    )


def _fit_random_forest(
    split: TrainingSplit, params: MemberParams, seed: int, path: Path
) -> FittedMember:
    forest = RandomForestClassifier(
        n_estimators=params.rf_trees,
        max_depth=params.rf_depth,
        min_samples_leaf=params.rf_min_leaf,
        max_features="sqrt",
        n_jobs=params.n_threads,
        random_state=seed,
    )
    forest.fit(split.X_train, split.y_train)
    # Threads add tree outputs in whatever order they finish; one thread makes it reproducible.
    forest.set_params(n_jobs=1)
    _require_all_classes(forest.classes_, split.n_classes, "random_forest")
    treelite.sklearn.import_model(forest).serialize(str(path))

    def probabilities(X: F32) -> F64:
        return np.asarray(forest.predict_proba(X), dtype=np.float64)

    return FittedMember(
        "random_forest",
        path.name,
        probabilities,
        lambda X: log_proba_from_probabilities(probabilities(X)),
    )


def _fit_mlp(split: TrainingSplit, params: MemberParams, seed: int, path: Path) -> FittedMember:
    scaler = StandardScaler().fit(split.X_train.astype(np.float64))
    clf = MLPClassifier(
        hidden_layer_sizes=params.mlp_hidden,
        activation="relu",
        alpha=1e-3,
        batch_size=256,
        learning_rate_init=2e-3,
        max_iter=params.mlp_max_iter,
        early_stopping=True,  # a random 10% of the *training* seasons; never the later ones
        n_iter_no_change=6,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        clf.fit(scaler.transform(split.X_train.astype(np.float64)), split.y_train)
    _require_all_classes(clf.classes_, split.n_classes, "mlp")
    mlp = NumpyMLP.from_sklearn(scaler, clf)
    mlp.save(path)

    def probabilities(X: F32) -> F64:
        scaled = scaler.transform(np.asarray(X, dtype=np.float64))
        return np.asarray(clf.predict_proba(scaled), dtype=np.float64)

    return FittedMember(
        "mlp", path.name, probabilities, lambda X: log_proba_from_margins(mlp.logits(X))
    )


def _require_all_classes(classes: Any, n_classes: int, kind: str) -> None:
    if list(classes) != list(range(n_classes)):
        raise TrainingFailed(f"{kind}: the training seasons do not contain every outcome")


_FITTERS: dict[MemberKind, Callable[[TrainingSplit, MemberParams, int, Path], FittedMember]] = {
    "xgboost": _fit_xgboost,
    "lightgbm": _fit_lightgbm,
    "random_forest": _fit_random_forest,
    "mlp": _fit_mlp,
}
