"""The manifest: what one model version is made of, as written to ``manifest.json``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import msgspec

from a1rt.models._exceptions import ModelRefused
from a1rt.models.dataset import FeatureSpec

MANIFEST_FILE = "manifest.json"
MemberKind = Literal["xgboost", "lightgbm", "random_forest", "mlp"]

CONFIDENCE_DEFINITION = (
    "member agreement: 1 - sum_m w_m * TV(p_m, q), the weighted mean total-variation distance "
    "between each member's probabilities p_m and their pooled (pre-calibration) distribution q; "
    "1 means every member says the same, lower means they disagree; it is not outcome certainty"
)
EXPLANATION_SCALE = (
    "log-odds of the explained outcome c against the geometric mean of the other outcomes, "
    "log p_c - mean_{j!=c} log p_j, of the calibrated ensemble (plain log-odds for 2 outcomes)"
)


class MemberSpec(msgspec.Struct, frozen=True):
    """One member of the ensemble and its native artifact."""

    name: str
    kind: MemberKind
    artifact: str  # file name inside the version directory
    sha256: str


class Calibration(msgspec.Struct, frozen=True):
    """Calibrated logits = scale * pooled logits + bias (bias[0] is 0)."""

    kind: Literal["logit_scale_bias"]
    scale: float
    bias: tuple[float, ...]


class DataSplit(msgspec.Struct, frozen=True):
    """Where the training data came from and how it was split by season."""

    source: str  # "simulation" (rebuildable from seed/seasons) or anything else
    seed: int
    seasons: int
    train_seasons: tuple[int, ...]
    validation_seasons: tuple[int, ...]
    test_seasons: tuple[int, ...]
    n_train: int
    n_validation: int
    n_test: int
    fingerprint: str = ""  # SHA-256 of the dataset's X, y and season arrays


class Manifest(msgspec.Struct, frozen=True):
    """Everything needed to load, check and describe one model version."""

    name: str
    version: str
    created: str  # ISO 8601, UTC
    features: tuple[FeatureSpec, ...]
    outcomes: tuple[str, ...]
    members: tuple[MemberSpec, ...]
    weights: dict[str, float]
    calibration: Calibration
    files: dict[str, str]  # auxiliary file name -> sha256 (verification sample, backgrounds)
    libraries: dict[str, str]
    data: DataSplit
    confidence: str = CONFIDENCE_DEFINITION
    explanation_scale: str = EXPLANATION_SCALE
    evaluation: dict[str, Any] | None = None
    format: int = 1

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The ordered input column names."""
        return tuple(f.name for f in self.features)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(version_dir: Path) -> Manifest:
    """Read and validate ``manifest.json`` of a version directory, or refuse the version."""
    name, version = version_dir.parent.name, version_dir.name
    try:
        manifest = msgspec.json.decode((version_dir / MANIFEST_FILE).read_bytes(), type=Manifest)
    except OSError as exc:
        raise ModelRefused(name, version, f"cannot read {MANIFEST_FILE}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ModelRefused(name, version, f"invalid {MANIFEST_FILE}: {exc}") from exc
    if (manifest.name, manifest.version) != (name, version):
        reason = f"manifest names {manifest.name}/{manifest.version}, not its directory"
        raise ModelRefused(name, version, reason)
    return manifest


def write_manifest(version_dir: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically (readers see the old or the new file, never half)."""
    data = msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"
    tmp = version_dir / f".{MANIFEST_FILE}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, version_dir / MANIFEST_FILE)


def verify_checksums(version_dir: Path, manifest: Manifest) -> None:
    """Refuse the version unless every artifact file matches its recorded SHA-256."""
    expected = {m.artifact: m.sha256 for m in manifest.members} | manifest.files
    for file_name, digest in expected.items():
        if Path(file_name).name != file_name:
            reason = f"artifact name {file_name!r} leaves the version directory"
            raise ModelRefused(manifest.name, manifest.version, reason)
        try:
            actual = sha256_file(version_dir / file_name)
        except OSError as exc:
            reason = f"cannot read {file_name}: {exc}"
            raise ModelRefused(manifest.name, manifest.version, reason) from exc
        if actual != digest:
            reason = f"checksum mismatch for {file_name}: {actual[:12]} != {digest[:12]}"
            raise ModelRefused(manifest.name, manifest.version, reason)
