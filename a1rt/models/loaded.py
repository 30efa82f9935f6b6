"""A loaded, verified, warmed-up model version: the object the predictor calls."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import tl2cgen
import treelite
import xgboost as xgb

from a1rt.models._exceptions import InvalidFeatures, ModelRefused
from a1rt.models.compile import Backend, find_compiler, import_tree_model, tree_predictor
from a1rt.models.ensemble import (
    Blend,
    log_proba_from_margins,
    log_proba_from_probabilities,
    softmax,
)
from a1rt.models.explain import (
    Explanation,
    ForestExplainer,
    LightGBMExplainer,
    MemberExplainer,
    MlpExplainer,
    XGBoostExplainer,
    combine,
    outcome_contrasts,
)
from a1rt.models.manifest import (
    Manifest,
    MemberKind,
    MemberSpec,
    read_manifest,
    verify_checksums,
)
from a1rt.models.mlp import NumpyMLP

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
BackendChoice = Literal["auto", "tl2cgen", "gtil"]

REFERENCE_FILE = "reference.npz"  # verification sample, native outputs, MLP background
VERIFY_TOLERANCE = 1e-5
_FOREIGN_ERRORS = (  # what the libraries raise on a bad file; translated to ModelRefused
    OSError,
    EOFError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    treelite.TreeliteError,
    tl2cgen.exception.TL2cgenError,
    xgb.core.XGBoostError,
    lgb.basic.LightGBMError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnsembleOutput:
    """Calibrated probabilities (n, k), confidence (n,) and each member's probabilities."""

    probabilities: F64
    confidence: F64
    members: Mapping[str, F64]


@dataclass(frozen=True)
class ServingMember:
    """A member's serving path: raw output (compiled trees or numpy MLP) and its explainer."""

    name: str
    kind: MemberKind
    raw: Callable[[F32], F64]  # margins, or class probabilities for the random forest
    explainer: MemberExplainer

    def log_proba(self, X: F32) -> F64:
        """Log class probabilities, (n, k)."""
        if self.kind == "random_forest":
            return log_proba_from_probabilities(self.raw(X))
        return log_proba_from_margins(self.raw(X))

    def check_output(self, X: F32) -> F64:
        """What verification compares with the native prediction (see ``members.py``)."""
        return np.exp(self.log_proba(X)) if self.kind == "mlp" else self.raw(X)


class LoadedModel:
    """One immutable, verified model version; ``predict`` is the hot path."""

    __slots__ = ("_manifest", "_members", "_names", "_blend", "_backend", "_n_features")

    def __init__(
        self,
        manifest: Manifest,
        members: tuple[ServingMember, ...],
        blend: Blend,
        backend: Backend,
    ) -> None:
        self._manifest, self._members, self._blend = manifest, members, blend
        self._names = tuple(member.name for member in members)
        self._backend: Backend = backend
        self._n_features = len(manifest.features)

    name = property(lambda self: self._manifest.name, doc="The model name.")
    version = property(lambda self: self._manifest.version, doc="The version directory name.")
    manifest = property(lambda self: self._manifest, doc="The parsed manifest.")
    feature_names = property(lambda self: self._manifest.feature_names, doc="Input columns.")
    outcomes = property(lambda self: self._manifest.outcomes, doc="Output columns.")

    @property
    def backend(self) -> Backend:
        """How tree members run: "tl2cgen" (compiled) or "gtil" (Treelite's interpreter)."""
        return self._backend

    def predict(self, X: npt.NDArray[np.floating]) -> EnsembleOutput:
        """Calibrated ensemble probabilities for a (n, n_features) batch."""
        batch = self._batch(X)
        logs = [member.log_proba(batch) for member in self._members]
        pooled = self._blend.pooled(logs)
        member_probabilities = np.exp(np.array(logs))  # (members, n, k); np.stack costs 3x
        return EnsembleOutput(
            softmax(self._blend.calibrated(pooled)),
            self._blend.confidence(member_probabilities, pooled),
            MappingProxyType(dict(zip(self._names, member_probabilities, strict=True))),
        )

    def explain(
        self,
        X: npt.NDArray[np.floating],
        outcome: int | None = None,
    ) -> Explanation:
        """SHAP-style contributions to the log-odds of ``outcome`` (default: outcome 0 for two
        outcomes, else each row's predicted outcome); see ``explain.py`` for the scale."""
        batch = self._batch(X)
        logs = [member.log_proba(batch) for member in self._members]
        calibrated = self._blend.calibrated(self._blend.pooled(logs))
        targets = self._explained_outcomes(calibrated, outcome)
        contrast = outcome_contrasts(targets, len(self.outcomes))
        weighted = [
            (m.name, float(w), m.explainer)
            for m, w in zip(self._members, self._blend.weights, strict=True)
            if w > 0.0
        ]
        base, contributions = combine(
            weighted, batch, self._blend.scale, self._blend.bias, contrast
        )
        return Explanation(
            feature_names=self.feature_names,
            outcome=tuple(self.outcomes[int(i)] for i in targets),
            scale=self._manifest.explanation_scale,
            base_value=base,
            contributions=contributions,
            value=np.einsum("nk,nk->n", calibrated, contrast),
            members=tuple(name for name, _, _ in weighted),
        )

    def _explained_outcomes(self, calibrated: F64, outcome: int | None) -> npt.NDArray[np.int64]:
        k = len(self.outcomes)
        if outcome is not None:
            if not 0 <= outcome < k:
                raise InvalidFeatures(f"outcome index {outcome} out of range for {k} outcomes")
            return np.full(len(calibrated), outcome, dtype=np.int64)
        if k == 2:
            return np.zeros(len(calibrated), dtype=np.int64)
        return np.asarray(calibrated.argmax(axis=1), dtype=np.int64)

    def _batch(self, X: npt.NDArray[np.floating]) -> F32:
        batch = np.ascontiguousarray(X, dtype=np.float32)
        if batch.ndim != 2 or batch.shape[1] != self._n_features or len(batch) == 0:
            raise InvalidFeatures(
                f"{self.name} expects a non-empty (n, {self._n_features}) batch, got {batch.shape}"
            )
        if not np.isfinite(batch).all():
            raise InvalidFeatures(f"{self.name}: features must be finite numbers")
        return batch


def resolve_compiler(choice: BackendChoice) -> str | None:
    """The compiler to use for ``choice`` (None means gtil), warning when none is installed."""
    if choice == "gtil":
        return None
    compiler = find_compiler()
    if compiler is None and choice == "auto":
        logger.warning("no C compiler (gcc/cc) found: tree members run on treelite.gtil, slower")
    return compiler


def load_version(version_dir: Path, build_dir: Path, compiler: str | None) -> LoadedModel:
    """Load, checksum, compile, verify and warm up one version directory."""
    manifest = read_manifest(version_dir)
    verify_checksums(version_dir, manifest)
    reference = _read_reference(version_dir, manifest)
    members = tuple(
        _load_member(version_dir, build_dir, manifest, spec, reference, compiler)
        for spec in manifest.members
    )
    blend = Blend(
        np.array([manifest.weights[spec.name] for spec in manifest.members]),
        manifest.calibration.scale,
        np.array(manifest.calibration.bias),
    )
    model = LoadedModel(manifest, members, blend, "gtil" if compiler is None else "tl2cgen")
    model.predict(reference["X"][:1])  # warm-up: first-call costs are paid here, not by a client
    model.predict(reference["X"])
    return model


def _read_reference(version_dir: Path, manifest: Manifest) -> dict[str, F64]:
    try:
        with np.load(version_dir / REFERENCE_FILE, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except _FOREIGN_ERRORS as exc:
        reason = f"unreadable {REFERENCE_FILE}: {exc}"
        raise ModelRefused(manifest.name, manifest.version, reason) from exc


def _load_member(
    version_dir: Path,
    build_dir: Path,
    manifest: Manifest,
    spec: MemberSpec,
    reference: Mapping[str, F64],
    compiler: str | None,
) -> ServingMember:
    X = np.ascontiguousarray(reference["X"], dtype=np.float32)
    try:
        path = version_dir / spec.artifact
        member, native = _build_member(path, build_dir, spec, manifest, reference, compiler)
        served = member.check_output(X)
        if native is None:  # no native runtime at serve time: the output recorded at training
            native = reference[spec.name]
    except _FOREIGN_ERRORS as exc:
        reason = f"member {spec.name}: {type(exc).__name__}: {exc}"
        raise ModelRefused(manifest.name, manifest.version, reason) from exc
    _verify(manifest, spec.name, served, native)
    return member


def _verify(manifest: Manifest, member: str, served: F64, native: F64) -> None:
    if served.shape != native.shape:
        reason = f"member {member}: output shape {served.shape} != native {native.shape}"
        raise ModelRefused(manifest.name, manifest.version, reason)
    diff = float(np.max(np.abs(served - native)))
    if not diff <= VERIFY_TOLERANCE:  # also catches NaN
        reason = f"member {member}: served output differs from native by {diff:.3g} (> 1e-5)"
        raise ModelRefused(manifest.name, manifest.version, reason)


def _build_member(
    path: Path,
    build_dir: Path,
    spec: MemberSpec,
    manifest: Manifest,
    reference: Mapping[str, F64],
    compiler: str | None,
) -> tuple[ServingMember, F64 | None]:
    """The serving member, and its native prediction on the reference rows when there is a
    native runtime at serve time (XGBoost, LightGBM); None means use the recorded output."""
    X = np.ascontiguousarray(reference["X"], dtype=np.float32)
    if spec.kind == "mlp":
        mlp = NumpyMLP.load(path)
        explainer = MlpExplainer(mlp, np.asarray(reference["background"], dtype=np.float32))
        return ServingMember(spec.name, "mlp", mlp.logits, explainer), None
    model = import_tree_model(spec.kind, path)
    raw = tree_predictor(model, spec.sha256, build_dir, compiler=compiler).raw
    if spec.kind == "random_forest":
        return ServingMember(spec.name, spec.kind, raw, ForestExplainer(model)), None
    k = len(manifest.outcomes)
    if spec.kind == "xgboost":
        booster = xgb.Booster(model_file=str(path))
        booster.set_param({"nthread": 1})
        native = booster.predict(xgb.DMatrix(X, nthread=1), output_margin=True)
        member = ServingMember(spec.name, spec.kind, raw, XGBoostExplainer(booster, k))
        return member, _as_columns(native, len(X))
    lgb_booster = lgb.Booster(model_file=str(path))
    scores = lgb_booster.predict(X, raw_score=True, num_threads=1)
    member = ServingMember(spec.name, spec.kind, raw, LightGBMExplainer(lgb_booster, k))
    return member, _as_columns(scores, len(X))


def _as_columns(native: object, n: int) -> F64:
    return np.asarray(native, dtype=np.float64).reshape(n, -1)
