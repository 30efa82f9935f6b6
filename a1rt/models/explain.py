"""SHAP-style explanations of the ensemble, additive on one stated scale.

Each member explains its per-class logits ``M`` (``log p = log_softmax(M)``): XGBoost and LightGBM
natively (``pred_contribs`` / ``pred_contrib``, exact TreeSHAP on the margin), the random forest
with shap's TreeExplainer built once from the Treelite checkpoint (exact TreeSHAP on probabilities,
mapped onto log-probabilities by rescaling each class's contributions so they still sum exactly),
and the MLP with sampled permutation Shapley values against a small training background (additive
exactly, the split between features carries Monte-Carlo error). Because the ensemble is a
logarithmic pool, the explained value

    v_c = log p_c - mean_{j != c} log p_j = u_c . (scale * sum_m w_m M_m + bias)

is linear in the members' logits, so ``base_value + sum(contributions) == value`` holds up to
float error (``ADDITIVITY_TOLERANCE``).
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import treelite
import xgboost as xgb

from a1rt.models.ensemble import PROBABILITY_FLOOR, margins_as_class_logits
from a1rt.models.mlp import NumpyMLP

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
ADDITIVITY_TOLERANCE = 1e-3  # |base + sum(contributions) - value|, in log-odds


class MemberExplainer(Protocol):
    """Contributions to a member's per-class logits: ((n, F, k) contributions, (n, k) base)."""

    def class_contributions(self, X: F32) -> tuple[F64, F64]:
        """Contributions (n, F, k) and base (n, k) with base + sum over F == the logits."""
        ...


@dataclass(frozen=True)
class Explanation:
    """Per-row contributions of each feature to the explained outcome's log-odds."""

    feature_names: tuple[str, ...]
    outcome: tuple[str, ...]  # the explained outcome of each row
    scale: str
    base_value: F64  # (n,)
    contributions: F64  # (n, n_features)
    value: F64  # (n,), from the served prediction
    members: tuple[str, ...]  # members whose contributions are included

    def row(self, i: int) -> dict[str, float]:
        """Feature name -> contribution for row ``i``."""
        return dict(zip(self.feature_names, self.contributions[i].tolist(), strict=True))


def _split_contribs(full: F64, n: int, n_features: int, n_classes: int) -> tuple[F64, F64]:
    """Native (n, F+1) or (n, k, F+1) contributions, bias last, as per-class logit terms."""
    per_class = full.reshape(n, -1, n_features + 1).transpose(0, 2, 1)  # (n, F+1, k or 1)
    if n_classes == 2 and per_class.shape[2] == 1:
        per_class = np.concatenate([np.zeros_like(per_class), per_class], axis=2)
    return per_class[:, :n_features, :], per_class[:, n_features, :]


class XGBoostExplainer:
    """XGBoost's own TreeSHAP on the margin (thread-safe in XGBoost)."""

    def __init__(self, booster: xgb.Booster, n_classes: int) -> None:
        self._booster, self._k = booster, n_classes

    def class_contributions(self, X: F32) -> tuple[F64, F64]:
        """Per-class margin contributions and bias."""
        full = self._booster.predict(xgb.DMatrix(X, nthread=1), pred_contribs=True)
        return _split_contribs(np.asarray(full, np.float64), len(X), X.shape[1], self._k)


class LightGBMExplainer:
    """LightGBM's own TreeSHAP on the raw score, serialised: ``pred_contrib`` is not thread-safe."""

    def __init__(self, booster: lgb.Booster, n_classes: int) -> None:
        self._booster, self._k = booster, n_classes
        self._lock = threading.Lock()

    def class_contributions(self, X: F32) -> tuple[F64, F64]:
        """Per-class raw-score contributions and bias."""
        with self._lock:
            full = self._booster.predict(X, pred_contrib=True, num_threads=1)
        return _split_contribs(np.asarray(full, np.float64), len(X), X.shape[1], self._k)


class ForestExplainer:
    """shap's exact TreeSHAP for the forest, rescaled from probabilities to log-probabilities."""

    def __init__(self, model: treelite.Model) -> None:
        shap = _import_shap()
        self._explainer = shap.TreeExplainer(forest_as_shap_dict(model))
        self._expected = np.asarray(self._explainer.expected_value, dtype=np.float64)

    def class_contributions(self, X: F32) -> tuple[F64, F64]:
        """Per-class log-probability contributions and base (log of the expected probability)."""
        phi = np.asarray(self._explainer.shap_values(X, check_additivity=False), np.float64)
        phi = phi.reshape(len(X), X.shape[1], -1)
        p = self._expected + phi.sum(axis=1)  # (n, k)
        log_p = np.log(np.maximum(p, PROBABILITY_FLOOR))
        log_base = np.log(np.maximum(self._expected, PROBABILITY_FLOOR))
        delta = p - self._expected
        factor = np.divide(
            log_p - log_base,
            delta,
            out=1.0 / np.maximum(p, PROBABILITY_FLOOR),  # the limit where p == expected
            where=np.abs(delta) > 1e-12,
        )
        return phi * factor[:, None, :], np.broadcast_to(log_base, p.shape).copy()


class MlpExplainer:
    """Sampled permutation Shapley values of the MLP logits against a training background."""

    def __init__(self, mlp: NumpyMLP, background: F32, n_permutations: int = 16) -> None:
        self._mlp, self._background = mlp, np.asarray(background, dtype=np.float64)
        self._n_permutations = n_permutations

    def class_contributions(self, X: F32) -> tuple[F64, F64]:
        """Per-class logit contributions and base (the background's mean logits)."""
        rows = [self._explain_row(np.asarray(x, np.float64), seed) for seed, x in enumerate(X)]
        base = self._logits(self._background).mean(axis=0)
        return np.stack(rows), np.broadcast_to(base, (len(X), base.shape[0])).copy()

    def _explain_row(self, x: F64, seed: int) -> F64:
        n_features = len(x)
        order = _antithetic_permutations(n_features, self._n_permutations, seed)  # (P, F)
        # included[p, t, f]: feature f comes from x at step t of permutation p.
        rank = np.argsort(order, axis=1)  # position of each feature within its permutation
        steps = np.arange(n_features + 1)[None, :, None]
        included = rank[:, None, :] < steps  # (P, F+1, F)
        mixed = np.where(included[:, :, None, :], x, self._background[None, None])
        values = self._logits(mixed.reshape(-1, n_features))
        values = values.reshape(*included.shape[:2], len(self._background), -1).mean(axis=2)
        gains = np.diff(values, axis=1)  # (P, F, k): gain of the feature added at each step
        phi = np.zeros((n_features, values.shape[-1]))
        for p in range(len(order)):
            phi[order[p]] += gains[p]
        return phi / len(order)

    def _logits(self, X: F64) -> F64:
        return margins_as_class_logits(self._mlp.logits(X))


def _antithetic_permutations(n_features: int, count: int, seed: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    half = [rng.permutation(n_features) for _ in range(max(1, count // 2))]
    return np.asarray(half + [p[::-1] for p in half], dtype=np.int64)


def combine(
    explainers: Sequence[tuple[str, float, MemberExplainer]],
    X: F32,
    scale: float,
    bias: F64,
    contrast: F64,
) -> tuple[F64, F64]:
    """Weighted member contributions on per-row contrasts: base (n,), contributions (n, F)."""
    contributions = np.zeros((len(X), X.shape[1]))
    base = contrast @ bias
    for _name, weight, explainer in explainers:
        phi, member_base = explainer.class_contributions(X)
        contributions += scale * weight * np.einsum("nfk,nk->nf", phi, contrast)
        base = base + scale * weight * np.einsum("nk,nk->n", member_base, contrast)
    return base, contributions


def outcome_contrasts(outcomes: npt.NDArray[np.int64], n_classes: int) -> F64:
    """Rows u with u_c = 1 and u_j = -1/(k-1): ``u . log p`` is the log-odds of c vs the rest."""
    u = np.full((len(outcomes), n_classes), -1.0 / (n_classes - 1))
    u[np.arange(len(outcomes)), outcomes] = 1.0
    return u


def forest_as_shap_dict(model: treelite.Model) -> dict[str, Any]:
    """A Treelite random forest (averaged sklearn trees) as shap's dictionary tree format."""
    dump = json.loads(model.dump_as_json(pretty_print=False))
    trees = [_tree_arrays(tree["nodes"]) for tree in dump["trees"]]
    for tree in trees:
        tree["values"] = tree["values"] / len(trees)
    return {"trees": trees}


def _tree_arrays(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    nodes = sorted(nodes, key=lambda node: int(node["node_id"]))
    n = len(nodes)
    left, right = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
    default, feature = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
    threshold, weight = np.full(n, -1.0), np.zeros(n)
    k = max(len(node["leaf_value"]) for node in nodes if "leaf_value" in node)
    values = np.zeros((n, k))
    for i, node in enumerate(nodes):
        weight[i] = float(node.get("sum_hess", node.get("data_count", 0.0)))
        if "leaf_value" in node:
            values[i] = node["leaf_value"]
            continue
        if node.get("comparison_op") != "<=":
            raise ValueError(f"unsupported split {node.get('comparison_op')!r} in forest")
        left[i], right[i] = node["left_child"], node["right_child"]
        default[i] = left[i] if node["default_left"] else right[i]
        feature[i], threshold[i] = node["split_feature_id"], node["threshold"]
    for i in _children_first(left, right):
        if left[i] >= 0:
            w_l, w_r = weight[left[i]], weight[right[i]]
            values[i] = (w_l * values[left[i]] + w_r * values[right[i]]) / max(w_l + w_r, 1e-12)
    return {
        "children_left": left,
        "children_right": right,
        "children_default": default,
        "features": feature,
        "thresholds": threshold,
        "values": values,
        "node_sample_weight": weight,
    }


def _children_first(left: npt.NDArray[np.int32], right: npt.NDArray[np.int32]) -> list[int]:
    order, stack = [], [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if left[i] >= 0:
            stack += [int(left[i]), int(right[i])]
    return order[::-1]


@cache
def _import_shap() -> ModuleType:
    with warnings.catch_warnings():
        # shap's import touches a matplotlib colormap API that matplotlib has scheduled to change.
        warnings.filterwarnings(
            "ignore", message=r"The set_\w+ function", category=PendingDeprecationWarning
        )
        import shap
    module: ModuleType = shap
    return module
