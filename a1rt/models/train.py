"""Training: time-ordered season splits, four members, the fitted blend, a new version directory.

Seasons are never shuffled: the earliest seasons train the members, the next ones fit the blend
(weights and calibration) and stop boosting early, and the last ones are held out for
``evaluate_model``. A version is written into a staging directory and renamed into place, so a
registry watching the directory never sees half a version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from a1rt.models._exceptions import DatasetUnavailable, TrainingFailed
from a1rt.models._npz import write_npz
from a1rt.models.dataset import Dataset
from a1rt.models.ensemble import fit_blend
from a1rt.models.loaded import REFERENCE_FILE
from a1rt.models.manifest import (
    Calibration,
    DataSplit,
    Manifest,
    MemberSpec,
    sha256_file,
    write_manifest,
)
from a1rt.models.members import (
    MEMBER_KINDS,
    FittedMember,
    MemberParams,
    TrainingSplit,
    fit_member,
)
from a1rt.models.versions import library_versions, next_version

DEFAULT_MODELS = (
    "basketball_nba_h2h",
    "americanfootball_nfl_h2h",
    "soccer_epl_h2h",
    "basketball_nba_totals",
    "basketball_nba_props",
)
# Twenty simulated seasons, not the simulator's default six: rows of one game share its outcome,
# so six NFL seasons hold only ~1,600 training games and every member stayed ~4% above the Bayes
# floor (held-out log loss); twenty bring all five models within ~1.5% and cost ~15 s to simulate.
DEFAULT_SEASONS = 20
REFERENCE_ROWS = 64  # verification sample, from the validation seasons
BACKGROUND_ROWS = 32  # MLP explanation background, from the training seasons
STEPS = (*MEMBER_KINDS, "blend", "write")


@dataclass(frozen=True)
class SeasonSplit:
    """Season indices for training, validation (blend, early stopping) and held-out test."""

    train: tuple[int, ...]
    validation: tuple[int, ...]
    test: tuple[int, ...]


def split_seasons(season: npt.NDArray[np.int64]) -> SeasonSplit:
    """Earliest seasons train, then about a fifth validate, and the last fifth is held out."""
    unique = sorted({int(s) for s in season})
    if len(unique) < 3:
        raise DatasetUnavailable(f"need at least 3 seasons for a time split, got {len(unique)}")
    held = max(1, len(unique) // 5)
    return SeasonSplit(
        train=tuple(unique[: -2 * held]),
        validation=tuple(unique[-2 * held : -held]),
        test=tuple(unique[-held:]),
    )


def train_models(
    out_dir: Path,
    names: Sequence[str] | None = None,
    *,
    seed: int = 7,
    progress: bool = True,
) -> list[Manifest]:
    """Simulate data for each model, train it and write a new version under ``out_dir``."""
    selected = DEFAULT_MODELS if names is None else tuple(names)
    manifests = []
    with _progress(progress) as bar:
        for name in selected:
            task = bar.add_task(f"{name}: simulating", total=len(STEPS) + 1)
            dataset = build_simulated_dataset(name, seed=seed, seasons=DEFAULT_SEASONS)
            bar.advance(task)

            def on_step(step: str, task: TaskID = task, name: str = name) -> None:
                bar.update(task, advance=1, description=f"{name}: {step}")

            manifest = train_model(
                dataset, Path(out_dir), seed=seed, source="simulation", on_step=on_step
            )
            bar.update(task, description=f"{name}: {manifest.version}")
            manifests.append(manifest)
    return manifests


def build_simulated_dataset(name: str, *, seed: int, seasons: int) -> Dataset:
    """The simulator's dataset for ``name``."""
    try:
        from a1rt.models.simulation import build_dataset
    except ImportError as exc:
        raise DatasetUnavailable(f"the simulator is not available: {exc}") from exc
    try:
        dataset: Dataset = build_dataset(name, seed=seed, seasons=seasons)
    except DatasetUnavailable:
        raise
    except (KeyError, ValueError) as exc:
        raise DatasetUnavailable(f"cannot simulate {name!r}: {exc}") from exc
    return dataset


def train_model(
    dataset: Dataset,
    out_dir: Path,
    *,
    seed: int = 7,
    source: str = "external",
    params: MemberParams | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Manifest:
    """Train the ensemble for one dataset and write it as a new version under ``out_dir``."""
    check_dataset(dataset)
    split = split_seasons(dataset.season)
    model_dir = Path(out_dir) / dataset.name
    version = next_version(model_dir)
    staging = model_dir / f".staging-{version}-{os.getpid()}"
    try:
        staging.mkdir(parents=True)
        manifest = _train_into(dataset, split, staging, version, seed, source, params, on_step)
        os.rename(staging, model_dir / version)
    except OSError as exc:
        raise TrainingFailed(f"cannot write {dataset.name}/{version}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _train_into(
    dataset: Dataset,
    split: SeasonSplit,
    staging: Path,
    version: str,
    seed: int,
    source: str,
    params: MemberParams | None,
    on_step: Callable[[str], None] | None,
) -> Manifest:
    step = on_step or (lambda _step: None)
    rows = _TrainingRows.of(dataset, split)
    fitted = []
    for kind in MEMBER_KINDS:
        fitted.append(fit_member(kind, rows.split, params or MemberParams(), seed, staging))
        step(kind)
    blend = fit_blend([m.log_proba(rows.split.X_val) for m in fitted], rows.split.y_val)
    step("blend")
    files = {REFERENCE_FILE: _write_reference(staging, rows, fitted)}
    manifest = Manifest(
        name=dataset.name,
        version=version,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        features=dataset.features,
        outcomes=dataset.outcomes,
        members=tuple(
            MemberSpec(m.kind, m.kind, m.artifact, sha256_file(staging / m.artifact))
            for m in fitted
        ),
        weights={m.kind: float(w) for m, w in zip(fitted, blend.weights, strict=True)},
        calibration=Calibration("logit_scale_bias", blend.scale, tuple(blend.bias.tolist())),
        files=files,
        libraries=library_versions(),
        data=rows.data_split(source, seed, split, dataset_fingerprint(dataset)),
    )
    write_manifest(staging, manifest)
    step("write")
    return manifest


@dataclass(frozen=True)
class _TrainingRows:
    split: TrainingSplit
    n_test: int

    @classmethod
    def of(cls, dataset: Dataset, seasons: SeasonSplit) -> _TrainingRows:
        train = np.isin(dataset.season, seasons.train)
        val = np.isin(dataset.season, seasons.validation)
        split = TrainingSplit(
            X_train=np.ascontiguousarray(dataset.X[train], dtype=np.float32),
            y_train=np.asarray(dataset.y[train], dtype=np.int64),
            X_val=np.ascontiguousarray(dataset.X[val], dtype=np.float32),
            y_val=np.asarray(dataset.y[val], dtype=np.int64),
            n_classes=len(dataset.outcomes),
        )
        return cls(split, int(np.isin(dataset.season, seasons.test).sum()))

    def data_split(
        self, source: str, seed: int, seasons: SeasonSplit, fingerprint: str
    ) -> DataSplit:
        n_seasons = len(seasons.train) + len(seasons.validation) + len(seasons.test)
        return DataSplit(
            source=source,
            seed=seed,
            seasons=n_seasons,
            train_seasons=seasons.train,
            validation_seasons=seasons.validation,
            test_seasons=seasons.test,
            n_train=len(self.split.y_train),
            n_validation=len(self.split.y_val),
            n_test=self.n_test,
            fingerprint=fingerprint,
        )


def _write_reference(staging: Path, rows: _TrainingRows, fitted: Sequence[FittedMember]) -> str:
    """The verification sample with every member's native output, and the MLP background."""
    X_ref = np.ascontiguousarray(rows.split.X_val[:REFERENCE_ROWS])
    picks = np.linspace(0, len(rows.split.X_train) - 1, BACKGROUND_ROWS).astype(np.int64)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "X": X_ref,
        "background": rows.split.X_train[picks],
    }
    arrays |= {m.kind: m.check_output(X_ref) for m in fitted}
    write_npz(staging / REFERENCE_FILE, arrays)
    return sha256_file(staging / REFERENCE_FILE)


def check_dataset(dataset: Dataset) -> None:
    """Refuse a dataset whose arrays disagree with its feature and outcome lists."""
    n, k = len(dataset.y), len(dataset.outcomes)
    problems = [
        dataset.X.shape != (n, len(dataset.features)) and f"X has shape {dataset.X.shape}",
        k < 2 and "fewer than two outcomes",
        n and not (0 <= dataset.y.min() and dataset.y.max() < k) and "y outside the outcomes",
        dataset.season.shape != (n,) and "season is not one value per row",
        not np.isfinite(dataset.X).all() and "X has non-finite values",
    ]
    found = [p for p in problems if p]
    if found:
        raise DatasetUnavailable(f"dataset {dataset.name!r} is malformed: {', '.join(found)}")


def dataset_fingerprint(dataset: Dataset) -> str:
    """SHA-256 of the rows (features, labels, seasons), to tell whether data was rebuilt alike."""
    digest = hashlib.sha256()
    for array in (dataset.X, dataset.y, dataset.season):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    columns = (
        TextColumn("{task.description:<44}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not enabled) as bar:
        yield bar
