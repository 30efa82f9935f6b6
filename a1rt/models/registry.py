"""The model registry: which version of each model is serving, and hot swaps to newer ones.

Layout: ``models_dir/<name>/<version>/manifest.json``; versions sort as strings (training writes
``YYYYMMDD-HHMMSS``) and directories starting with ``.`` (staging) are ignored. Loading is blocking
(it may compile) and meant for a worker thread. Readers never lock: the name -> model mapping is an
immutable snapshot replaced whole, so ``get`` sees the old model or the new one, never a mix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from a1rt.models._exceptions import ModelNotFound, ModelRefused
from a1rt.models.loaded import BackendChoice, LoadedModel, load_version, resolve_compiler
from a1rt.models.manifest import MANIFEST_FILE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    """What ``load_all`` did for one model: the version serving and the versions it refused."""

    name: str
    version: str | None  # None: no version could be loaded
    refused: tuple[ModelRefused, ...]  # newest first; each carries ``.version`` and ``.reason``


class ModelRegistry:
    """Loaded models by name, with atomic hot reload."""

    def __init__(
        self, models_dir: Path, build_dir: Path, *, backend: BackendChoice = "auto"
    ) -> None:
        self.models_dir, self.build_dir = Path(models_dir), Path(build_dir)
        self._backend: BackendChoice = backend
        self._models: Mapping[str, LoadedModel] = MappingProxyType({})
        self._swap_lock = threading.Lock()
        self._name_locks: dict[str, threading.Lock] = {}

    def names(self) -> list[str]:
        """Names of the models currently serving, sorted."""
        return sorted(self._models)

    def get(self, name: str) -> LoadedModel:
        """The serving version of ``name``."""
        try:
            return self._models[name]
        except KeyError:
            raise ModelNotFound(name, "not loaded") from None

    def names_on_disk(self) -> list[str]:
        """Model directories holding at least one version, sorted."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p.name for p in self._children(self.models_dir) if self._versions(p))

    def versions_on_disk(self, name: str) -> list[str]:
        """Versions of ``name`` on disk, oldest first."""
        return self._versions(self.models_dir / name)

    def newest_version_on_disk(self, name: str) -> str | None:
        """The newest version directory of ``name``, or None (for watchers)."""
        versions = self.versions_on_disk(name)
        return versions[-1] if versions else None

    def load_all(self) -> list[LoadReport]:
        """Load the newest valid version of every model on disk, falling back to older ones."""
        return [self._load_newest_valid(name) for name in self.names_on_disk()]

    def reload(self, name: str) -> LoadedModel:
        """Load, verify and swap in the newest version; if refused, the old one keeps serving."""
        with self._name_lock(name):
            version = self.newest_version_on_disk(name)
            if version is None:
                raise ModelNotFound(name, f"no version under {self.models_dir / name}")
            model = self._load(name, version)
            self._install(model)
            return model

    def _load_newest_valid(self, name: str) -> LoadReport:
        refused: list[ModelRefused] = []
        with self._name_lock(name):
            for version in reversed(self.versions_on_disk(name)):
                try:
                    model = self._load(name, version)
                except ModelRefused as exc:
                    logger.warning("%s; trying an older version", exc)
                    refused.append(exc)
                    continue
                self._install(model)
                return LoadReport(name, version, tuple(refused))
        logger.error("model %s: no loadable version (%d refused)", name, len(refused))
        return LoadReport(name, None, tuple(refused))

    def _load(self, name: str, version: str) -> LoadedModel:
        compiler = resolve_compiler(self._backend)
        if compiler is None and self._backend == "tl2cgen":
            raise ModelRefused(name, version, "backend tl2cgen requested but no C compiler found")
        model = load_version(self.models_dir / name / version, self.build_dir, compiler)
        logger.info("model %s/%s loaded (%s)", name, version, model.backend)
        return model

    def _install(self, model: LoadedModel) -> None:
        with self._swap_lock:
            self._models = MappingProxyType({**self._models, model.name: model})

    def _name_lock(self, name: str) -> threading.Lock:
        with self._swap_lock:
            return self._name_locks.setdefault(name, threading.Lock())

    @staticmethod
    def _children(directory: Path) -> list[Path]:
        return [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def _versions(self, model_dir: Path) -> list[str]:
        if not model_dir.is_dir():
            return []
        found = self._children(model_dir)
        return sorted(p.name for p in found if (p / MANIFEST_FILE).is_file())
