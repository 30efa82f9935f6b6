"""The compiled ensemble against the same members run natively, per row and per batch.

For each default model, on the same inputs, in the same run, interleaved call by call (each
repetition runs every call once, in a random order; the target is judged on these figures), and
per row also back to back (each call alone in blocks: warm caches, the best case for both sides):

- compiled: `LoadedModel.predict` as `ModelRegistry` loads it (TL2cgen-compiled tree members, the
  numpy MLP, the blend), and each compiled member alone (`TreePredictor.raw`);
- native: the same members through their own libraries, loaded as `a1rt.models.loaded` loads them
  for verification (XGBoost `Booster.inplace_predict`, LightGBM `Booster.predict`, scikit-learn
  `RandomForestClassifier.predict_proba`), one thread each like serving, fed to the same blend
  code as `LoadedModel.predict`. XGBoost's `predict` on a `DMatrix` (what verification calls) is
  timed beside it as `xgboost_dmatrix`, but the ensemble uses the faster `inplace_predict`.

The MLP is plain numpy in serving and has no other runtime at serve time, so the same call is in
both ensembles (the member breakdown shows its share); the speedup is whole ensemble vs whole
ensemble. Every member runs on both sides, as `LoadedModel.predict` runs all four even when a
blend weight is 0 (the response reports each member's probabilities).

The random forest ships as a Treelite checkpoint, not a scikit-learn object, so its scikit-learn
forest is rebuilt: the dataset is re-simulated from the manifest (its fingerprint must match),
the forest refit with the training parameters and seed, and accepted only if `predict_proba`
reproduces the output recorded at training on the reference rows. If that fails, Treelite's
interpreter (gtil) stands in, and the result says so. The timed inputs are rows of the held-out
seasons (or the reference rows, repeated, when the data cannot be rebuilt).
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from threadpoolctl import threadpool_limits

from a1rt.models import DEFAULT_MODELS, LoadedModel, Manifest, ModelRegistry
from a1rt.models.compile import TreePredictor, find_compiler, import_tree_model, tree_predictor
from a1rt.models.ensemble import (
    Blend,
    log_proba_from_margins,
    log_proba_from_probabilities,
    softmax,
)
from a1rt.models.loaded import REFERENCE_FILE, VERIFY_TOLERANCE
from a1rt.models.members import MemberParams
from a1rt.models.mlp import NumpyMLP
from a1rt.models.train import build_simulated_dataset, dataset_fingerprint

from .loadgen import CpuReading
from .stats import percentile

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Predict = Callable[[F32], object]
ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "compiled_models"
BUILD_DIR_ENV = "A1RT_BENCH_BUILD_DIR"  # compiled libraries, cached across runs
BATCH_ROWS = 1000
SPEEDUP_TARGET = 10.0
HELD_OUT = "evenly spaced over the held-out seasons of the re-simulated dataset"
REPEATED_REFERENCE = "the reference rows, repeated"


@dataclass(frozen=True)
class NativeMember:
    """A member run by its own library: margins, or class probabilities for the forest."""

    name: str
    runtime: str
    raw: Callable[[F32], F64]
    is_forest: bool = False

    def log_proba(self, X: F32) -> F64:
        """Log class probabilities, (n, k), as `ServingMember.log_proba` computes them."""
        if self.is_forest:
            return log_proba_from_probabilities(self.raw(X))
        return log_proba_from_margins(self.raw(X))


@dataclass(frozen=True)
class NativeEnsemble:
    """`LoadedModel.predict`'s arithmetic over native members (see `loaded.py`)."""

    members: tuple[NativeMember, ...]
    blend: Blend

    def predict(self, X: F32) -> F64:
        """Calibrated probabilities; confidence and member probabilities are computed alike."""
        batch = np.ascontiguousarray(X, dtype=np.float32)
        logs = [member.log_proba(batch) for member in self.members]
        pooled = self.blend.pooled(logs)
        member_probabilities = np.exp(np.stack(logs))
        self.blend.confidence(member_probabilities, pooled)
        dict(zip((m.name for m in self.members), member_probabilities, strict=True))
        return softmax(self.blend.calibrated(pooled))


@dataclass(frozen=True)
class Rebuilt:
    """The scikit-learn forest (None if it could not be rebuilt), timing rows, and how."""

    forest: RandomForestClassifier | None
    rows: F32
    rows_from: str
    note: str


def _columns(values: object, n: int) -> F64:
    return np.asarray(values, dtype=np.float64).reshape(n, -1)


def rebuild(manifest: Manifest, reference: dict[str, F64]) -> Rebuilt:
    """Re-simulate the data and refit the forest; accept it only if it reproduces the record."""
    fallback = np.resize(reference["X"], (BATCH_ROWS, len(manifest.features))).astype(np.float32)
    if manifest.data.source != "simulation":
        note = f"data source {manifest.data.source!r} cannot be rebuilt"
        return Rebuilt(None, fallback, REPEATED_REFERENCE, note)
    split = manifest.data
    data = build_simulated_dataset(manifest.name, seed=split.seed, seasons=split.seasons)
    if dataset_fingerprint(data) != split.fingerprint:
        note = "the re-simulated dataset's fingerprint differs"
        return Rebuilt(None, fallback, REPEATED_REFERENCE, note)
    train = np.isin(data.season, split.train_seasons)
    held_out = data.X[np.isin(data.season, split.test_seasons)]
    rows = held_out[np.linspace(0, len(held_out) - 1, BATCH_ROWS).astype(np.int64)]
    forest = _refit_forest(data.X[train], data.y[train], split.seed)
    diff = float(np.max(np.abs(forest.predict_proba(reference["X"]) - reference["random_forest"])))
    if not diff <= VERIFY_TOLERANCE:
        note = f"the refit forest differs from the recorded output by {diff:.3g}"
        return Rebuilt(None, rows, HELD_OUT, note)
    return Rebuilt(
        forest, rows, HELD_OUT, f"refit; matches the recorded output (max diff {diff:.3g})"
    )


def _refit_forest(X: F32, y: npt.NDArray[np.int64], seed: int) -> RandomForestClassifier:
    params = MemberParams()  # what `a1rt train` fits with (see members._fit_random_forest)
    forest = RandomForestClassifier(
        n_estimators=params.rf_trees,
        max_depth=params.rf_depth,
        min_samples_leaf=params.rf_min_leaf,
        max_features="sqrt",
        n_jobs=1,
        random_state=seed,
    )
    return forest.fit(X, y)


def native_members(
    version_dir: Path, manifest: Manifest, rebuilt: Rebuilt
) -> dict[str, NativeMember]:
    """Each member through its own library, plus XGBoost's DMatrix path as `xgboost_dmatrix`."""
    members: dict[str, NativeMember] = {}
    for spec in manifest.members:
        path = version_dir / spec.artifact
        if spec.kind == "xgboost":
            inplace, dmatrix = _xgboost_calls(path)
            members[spec.name] = NativeMember(spec.name, "xgboost inplace_predict", inplace)
            members["xgboost_dmatrix"] = NativeMember(
                spec.name, "xgboost predict(DMatrix)", dmatrix
            )
        elif spec.kind == "lightgbm":
            members[spec.name] = NativeMember(spec.name, "lightgbm predict", _lightgbm_call(path))
        elif spec.kind == "random_forest":
            members[spec.name] = _native_forest(spec.name, path, rebuilt)
        else:
            members[spec.name] = NativeMember(spec.name, "numpy", NumpyMLP.load(path).logits)
    return members


def _xgboost_calls(path: Path) -> tuple[Callable[[F32], F64], Callable[[F32], F64]]:
    booster = xgb.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})

    def inplace(X: F32) -> F64:
        return _columns(booster.inplace_predict(X, predict_type="margin"), len(X))

    def dmatrix(X: F32) -> F64:
        return _columns(booster.predict(xgb.DMatrix(X, nthread=1), output_margin=True), len(X))

    return inplace, dmatrix


def _lightgbm_call(path: Path) -> Callable[[F32], F64]:
    booster = lgb.Booster(model_file=str(path))

    def predict(X: F32) -> F64:
        return _columns(booster.predict(X, raw_score=True, num_threads=1), len(X))

    return predict


def _native_forest(name: str, path: Path, rebuilt: Rebuilt) -> NativeMember:
    forest = rebuilt.forest
    if forest is None:
        gtil = TreePredictor("gtil", import_tree_model("random_forest", path), None)
        return NativeMember(name, "treelite.gtil (stand-in)", gtil.raw, is_forest=True)

    def predict_proba(X: F32) -> F64:
        return _columns(forest.predict_proba(X), len(X))

    return NativeMember(name, "sklearn predict_proba", predict_proba, is_forest=True)


def compiled_members(version_dir: Path, manifest: Manifest, build_dir: Path) -> dict[str, Predict]:
    """Each member's serving call, built as `load_version` builds it (same cached libraries)."""
    members: dict[str, Predict] = {}
    for spec in manifest.members:
        path = version_dir / spec.artifact
        if spec.kind == "mlp":
            members[spec.name] = NumpyMLP.load(path).logits
            continue
        model = import_tree_model(spec.kind, path)
        members[spec.name] = tree_predictor(
            model, spec.sha256, build_dir, compiler=find_compiler()
        ).raw
    return members


def interleaved(
    calls: dict[str, Predict], inputs: list[F32], repetitions: int, seed: int = 0
) -> dict[str, list[float]]:
    """Seconds per call; each repetition runs every call on the same input, in a fresh random
    order (so no call always follows the same neighbour and inherits its cache footprint)."""
    names, shuffle = list(calls), random.Random(seed).shuffle
    for name in names:  # warm-up: first-call costs are not what serving pays
        for x in inputs[:20]:
            calls[name](x)
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for rep in range(repetitions):
        x = inputs[rep % len(inputs)]
        shuffle(names)
        for name in names:
            started = time.perf_counter_ns()
            calls[name](x)
            times[name].append((time.perf_counter_ns() - started) / 1e9)
    return times


def back_to_back(
    calls: dict[str, Predict], inputs: list[F32], repetitions: int, block: int = 500
) -> dict[str, list[float]]:
    """Seconds per call, each call repeated alone in blocks (blocks of each call alternate):
    warm caches, the best case, beside `interleaved`'s busier one."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for start in range(0, repetitions, block):
        for name, call in calls.items():
            for rep in range(start, min(start + block, repetitions)):
                x = inputs[rep % len(inputs)]
                started = time.perf_counter_ns()
                call(x)
                times[name].append((time.perf_counter_ns() - started) / 1e9)
    return times


def _figures(samples: list[float], rows: int) -> dict[str, float]:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    figures = {
        "median_us": round(median * 1e6, 2),
        "p99_us": round(percentile(ordered, 99) * 1e6, 2),
    }
    return figures | ({"per_row_us": round(median * 1e6 / rows, 3)} if rows > 1 else {})


def compare(times: dict[str, list[float]], members: list[str], rows: int) -> dict[str, Any]:
    """Compiled vs native figures and speedups (native / compiled), ensemble and members."""

    def pair(compiled: str, native: str) -> dict[str, Any]:
        c, n = _figures(times[compiled], rows), _figures(times[native], rows)
        return {"compiled": c, "native": n,
                "speedup_median": round(n["median_us"] / c["median_us"], 2),
                "speedup_p99": round(n["p99_us"] / c["p99_us"], 2)}  # fmt: skip

    result = pair("compiled", "native")
    result["members"] = {m: pair(f"compiled:{m}", f"native:{m}") for m in members}
    if "native:xgboost_dmatrix" in times:
        result["members"]["xgboost_dmatrix"] = pair("compiled:xgboost", "native:xgboost_dmatrix")
    return result


def measure_model(
    registry: ModelRegistry, name: str, repetitions: int, batch_repetitions: int
) -> dict[str, Any]:
    """Load ``name``, build both sides, check they agree, and time them per row and per batch.

    BLAS and OpenMP are held to one thread, as `a1rt serve` holds them (`threadpool_limits`).
    """
    with threadpool_limits(limits=1):
        return _measure_model(registry, name, repetitions, batch_repetitions)


def _measure_model(
    registry: ModelRegistry, name: str, repetitions: int, batch_repetitions: int
) -> dict[str, Any]:
    model: LoadedModel = registry.reload(name)
    manifest, version_dir = model.manifest, registry.models_dir / name / model.version
    with np.load(version_dir / REFERENCE_FILE, allow_pickle=False) as npz:
        reference = {key: npz[key] for key in npz.files}
    rebuilt = rebuild(manifest, reference)
    natives = native_members(version_dir, manifest, rebuilt)
    blend = Blend(np.array([manifest.weights[s.name] for s in manifest.members]),
                  manifest.calibration.scale, np.array(manifest.calibration.bias))  # fmt: skip
    native = NativeEnsemble(tuple(natives[s.name] for s in manifest.members), blend)
    batch = np.ascontiguousarray(rebuilt.rows, dtype=np.float32)
    diff = float(np.max(np.abs(model.predict(batch).probabilities - native.predict(batch))))
    calls: dict[str, Predict] = {"compiled": model.predict, "native": native.predict}
    for member, call in compiled_members(version_dir, manifest, registry.build_dir).items():
        calls[f"compiled:{member}"] = call
    calls |= {f"native:{member}": m.raw for member, m in natives.items()}
    rows = [batch[i : i + 1] for i in range(len(batch))]
    names = [s.name for s in manifest.members]
    per_row = compare(interleaved(calls, rows, repetitions), names, 1)
    alone = {side: calls[side] for side in ("compiled", "native")}
    per_row["back_to_back"] = compare(back_to_back(alone, rows, repetitions), [], 1)
    del per_row["back_to_back"]["members"]
    per_batch = compare(interleaved(calls, [batch], batch_repetitions), names, len(batch))
    return {
        "version": model.version,
        "backend": model.backend,
        "n_features": len(manifest.features),
        "outcomes": list(manifest.outcomes),
        "blend_weights": dict(manifest.weights),
        "native_runtimes": {member: m.runtime for member, m in natives.items()},
        "random_forest_native": rebuilt.note,
        "inputs": f"{len(batch)} rows, " + rebuilt.rows_from,
        "outputs_max_abs_diff": diff,
        "per_row": per_row,
        f"per_batch_{len(batch)}": per_batch,
        "target_met": per_row["speedup_median"] >= SPEEDUP_TARGET,
    }


def build_dir() -> Path:
    """The compiled-library cache: $A1RT_BENCH_BUILD_DIR, else one under the temp directory."""
    return Path(os.environ.get(BUILD_DIR_ENV) or Path(tempfile.gettempdir()) / "a1rt-bench-build")


def run(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """Measure every default model and return the figures (``smoke``: one model, briefly)."""
    repetitions, batch_repetitions = (20, 2) if smoke else (500, 10) if quick else (5000, 100)
    registry = ModelRegistry(MODELS_DIR, build_dir(), backend="auto")
    start = CpuReading.take(None)
    names = ("basketball_nba_totals",) if smoke else DEFAULT_MODELS  # the smallest
    models = {name: measure_model(registry, name, repetitions, batch_repetitions) for name in names}
    usage = CpuReading.take(None).usage_since(start, observed=False)
    return {
        "config": {
            "models_dir": str(MODELS_DIR.relative_to(ROOT)),
            "compiler": find_compiler(),
            "repetitions_per_row": repetitions,
            "repetitions_per_batch": batch_repetitions,
            "batch_rows": BATCH_ROWS,
            "threads": "1 per library; BLAS/OpenMP limited to 1 (threadpoolctl), as a1rt serve",
            "order": "every call on the same input each repetition, in a seeded random order",
            "mlp": "numpy in both ensembles (no other runtime at serve time); counted in both",
        },
        "cpu_during_run": {  # this process vs the whole machine: others' load shows as the gap
            "bench_cores": usage["generator_cpu_cores"],
            "machine_cores": usage["machine_cpu_cores"],
        },
        "models": models,
        "targets": {
            "per_row_speedup_at_least": SPEEDUP_TARGET,
            "met": all(m["target_met"] for m in models.values()),
            "speedups_median": {name: m["per_row"]["speedup_median"] for name, m in models.items()},
        },
    }
