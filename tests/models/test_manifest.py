from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest

from a1rt.models import ModelRefused
from a1rt.models.manifest import read_manifest, verify_checksums, write_manifest


def test_manifest_round_trips_through_json(trained_binary, tmp_path: Path) -> None:
    target = tmp_path / "test_h2h" / trained_binary.manifest.version
    target.mkdir(parents=True)
    write_manifest(target, trained_binary.manifest)
    assert read_manifest(target) == trained_binary.manifest
    assert [p.name for p in target.iterdir()] == ["manifest.json"]  # no temp file left


def test_manifest_in_the_wrong_directory_is_refused(trained_binary, tmp_path: Path) -> None:
    target = tmp_path / "other_h2h" / "20990101-000000"
    shutil.copytree(trained_binary.version_dir, target)
    with pytest.raises(ModelRefused, match="not its directory"):
        read_manifest(target)


def test_manifest_artifact_outside_the_version_directory_is_refused(trained_binary) -> None:
    member = trained_binary.manifest.members[0]
    escaped = msgspec.structs.replace(member, artifact="../../etc/passwd")
    manifest = msgspec.structs.replace(trained_binary.manifest, members=(escaped,))
    with pytest.raises(ModelRefused, match="leaves the version directory"):
        verify_checksums(trained_binary.version_dir, manifest)
