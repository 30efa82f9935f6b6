from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from a1rt.models import ModelNotFound, ModelRefused, ModelRegistry
from a1rt.models.manifest import sha256_file


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _rewrite_checksum(version_dir: Path, artifact: str) -> None:
    manifest = json.loads((version_dir / "manifest.json").read_text())
    for member in manifest["members"]:
        if member["artifact"] == artifact:
            member["sha256"] = sha256_file(version_dir / artifact)
    for name in manifest["files"]:
        if name == artifact:
            manifest["files"][name] = sha256_file(version_dir / artifact)
    (version_dir / "manifest.json").write_text(json.dumps(manifest))


def test_registry_load_all_serves_the_newest_version(
    trained_binary, copy_models, build_dir, train_newer
):
    models_dir = copy_models(trained_binary)
    newer = train_newer(trained_binary, models_dir)
    registry = ModelRegistry(models_dir, build_dir)
    [report] = registry.load_all()
    assert (report.name, report.version, report.refused) == ("test_h2h", newer, ())
    assert registry.names() == ["test_h2h"]
    assert registry.get("test_h2h").version == newer
    assert registry.newest_version_on_disk("test_h2h") == newer
    assert registry.versions_on_disk("test_h2h") == sorted([trained_binary.manifest.version, newer])


def test_registry_load_all_falls_back_when_the_newest_is_broken(
    trained_binary, copy_models, build_dir, train_newer
):
    models_dir = copy_models(trained_binary)
    newer = train_newer(trained_binary, models_dir)
    _corrupt(models_dir / "test_h2h" / newer / "lightgbm.txt")
    registry = ModelRegistry(models_dir, build_dir)
    [report] = registry.load_all()
    assert report.version == trained_binary.manifest.version
    [refusal] = report.refused
    assert refusal.version == newer and "checksum mismatch for lightgbm.txt" in refusal.reason


def test_registry_ignores_staging_and_non_model_directories(trained_binary, copy_models, tmp_path):
    models_dir = copy_models(trained_binary)
    (models_dir / "test_h2h" / ".staging-20990101-000000-1").mkdir()
    (models_dir / "build" / "abc-linux").mkdir(parents=True)
    registry = ModelRegistry(models_dir, tmp_path / "build")
    assert registry.names_on_disk() == ["test_h2h"]
    assert registry.newest_version_on_disk("test_h2h") == trained_binary.manifest.version
    assert registry.newest_version_on_disk("nope") is None


def test_registry_get_unknown_model_raises_model_not_found(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, tmp_path / "build")
    assert registry.load_all() == []
    with pytest.raises(ModelNotFound):
        registry.get("basketball_nba_h2h")
    with pytest.raises(ModelNotFound):
        registry.reload("basketball_nba_h2h")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("checksum", "checksum mismatch for xgboost.ubj"),
        ("corrupt", "member xgboost"),
        ("verification", "member random_forest: served output differs from native by"),
        ("missing", "cannot read mlp.npz"),
        ("manifest", "invalid manifest.json"),
    ],
)
def test_registry_reload_refuses_a_broken_version_and_keeps_the_old_one(
    trained_binary, copy_models, build_dir, train_newer, damage: str, reason: str
):
    models_dir = copy_models(trained_binary)
    registry = ModelRegistry(models_dir, build_dir)
    registry.load_all()
    old = registry.get("test_h2h")
    newer = train_newer(trained_binary, models_dir)
    version_dir = models_dir / "test_h2h" / newer
    if damage == "checksum":
        _corrupt(version_dir / "xgboost.ubj")
    elif damage == "corrupt":  # a bad write recorded with its own checksum: parsing must fail
        (version_dir / "xgboost.ubj").write_bytes(b"{not a model")
        _rewrite_checksum(version_dir, "xgboost.ubj")
    elif damage == "verification":  # native reference disagrees with the compiled forest
        with np.load(version_dir / "reference.npz") as npz:
            arrays = {key: npz[key] for key in npz.files}
        arrays["random_forest"] = arrays["random_forest"] + 1e-3
        np.savez(version_dir / "reference.npz", **arrays)
        _rewrite_checksum(version_dir, "reference.npz")
    elif damage == "missing":
        (version_dir / "mlp.npz").unlink()
    else:
        (version_dir / "manifest.json").write_text('{"name": "test_h2h"')
    with pytest.raises(ModelRefused, match=reason) as refused:
        registry.reload("test_h2h")
    assert refused.value.version == newer
    assert registry.get("test_h2h") is old
    out = old.predict(trained_binary.dataset.X[:5])
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0)


def test_registry_reload_swaps_atomically_while_another_thread_predicts(
    trained_binary, copy_models, build_dir, train_newer
):
    models_dir = copy_models(trained_binary)
    registry = ModelRegistry(models_dir, build_dir)
    registry.load_all()
    X = trained_binary.dataset.X[:8]
    newer_dir = models_dir / "test_h2h"
    newer = train_newer(trained_binary, models_dir)
    staged = shutil.move(newer_dir / newer, models_dir / "held-back")  # hide it until reload
    expected = {trained_binary.manifest.version: registry.get("test_h2h").predict(X).probabilities}
    stop = threading.Event()
    seen: dict[str, int] = {}
    failures: list[str] = []

    def predict_in_a_loop() -> None:
        while not stop.is_set():
            try:
                model = registry.get("test_h2h")
                probabilities = model.predict(X).probabilities
            except Exception as exc:  # noqa: BLE001 - every failure is a test failure
                failures.append(repr(exc))
                continue
            seen[model.version] = seen.get(model.version, 0) + 1
            if model.version in expected and not np.array_equal(
                probabilities, expected[model.version]
            ):
                failures.append(f"mixed output for {model.version}")

    worker = threading.Thread(target=predict_in_a_loop)
    worker.start()
    try:
        shutil.move(staged, newer_dir / newer)
        for _ in range(3):
            reloaded = registry.reload("test_h2h")
            expected[newer] = reloaded.predict(X).probabilities
        deadline = time.monotonic() + 10
        while seen.get(newer, 0) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert failures == []
    assert registry.get("test_h2h").version == newer
    assert seen.get(trained_binary.manifest.version, 0) > 0 and seen.get(newer, 0) >= 10


def test_registry_concurrent_reloads_of_one_model_end_on_the_newest(
    trained_binary, copy_models, build_dir, train_newer
):
    models_dir = copy_models(trained_binary)
    newer = train_newer(trained_binary, models_dir)
    registry = ModelRegistry(models_dir, build_dir)
    threads = [threading.Thread(target=registry.reload, args=("test_h2h",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert registry.get("test_h2h").version == newer


@pytest.mark.parametrize(
    "artifact", ["xgboost.ubj", "lightgbm.txt", "random_forest.tl", "mlp.npz", "reference.npz"]
)
@pytest.mark.parametrize("garbage", [b"", b"{not a model", bytes(range(256)) * 4])
def test_registry_translates_every_unreadable_artifact_into_model_refused(
    trained_binary, copy_models, tmp_path: Path, artifact: str, garbage: bytes
) -> None:
    models_dir = copy_models(trained_binary)
    version_dir = models_dir / "test_h2h" / trained_binary.manifest.version
    (version_dir / artifact).write_bytes(garbage)
    _rewrite_checksum(version_dir, artifact)  # the checksum passes: parsing must refuse it
    registry = ModelRegistry(models_dir, tmp_path / "build")
    [report] = registry.load_all()
    assert report.version is None
    [refusal] = report.refused
    assert isinstance(refusal, ModelRefused) and refusal.reason
    with pytest.raises(ModelNotFound):
        registry.get("test_h2h")
