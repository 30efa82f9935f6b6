"""Treelite import and TL2cgen compilation of tree members, with a gtil fallback.

Shared libraries are cached under ``build_dir/<checksum>-<platform>-tl2cgen<version>/`` so a model
is compiled once per artifact, platform and compiler version, and a cache entry appears atomically
(compiled into a temporary name, then renamed) so concurrent loaders and replicas never see half a
library. Inputs are always C-contiguous float32: that sidesteps TL2cgen 1.0's NumPy 2 copy bug and
its float64 missing-value bug (float32-representable values cannot alias its NaN marker).
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import tl2cgen
import tl2cgen.libloader
import treelite
import treelite.core

from a1rt.models.manifest import MemberKind

Backend = Literal["tl2cgen", "gtil"]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

logger = logging.getLogger(__name__)
ROW_KERNEL_ROWS = 16  # batches up to this size skip TL2cgen's batch runtime (bench: inference)


def _log_native_line(message: bytes) -> None:
    logger.debug("%s", message.decode("utf-8", "replace").strip())


_native_log = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(_log_native_line)  # must stay referenced


def _route_native_logs() -> None:
    """Send Treelite/TL2cgen native log lines to logging instead of ``print`` on stdout."""
    # Both libraries register a ctypes callback that prints; a server's stdout carries JSON logs.
    for lib, register in (
        (getattr(tl2cgen.libloader, "_LIB", None), "TL2cgenRegisterLogCallback"),
        (getattr(treelite.core, "_LIB", None), "TreeliteRegisterLogCallback"),
    ):
        if lib is not None and hasattr(lib, register):
            getattr(lib, register)(_native_log)


_route_native_logs()


def find_compiler() -> str | None:
    """The C compiler TL2cgen should use (gcc, else cc), or None when there is none."""
    for name in ("gcc", "cc"):
        if shutil.which(name):
            return name
    return None


def import_tree_model(kind: MemberKind, path: Path) -> treelite.Model:
    """Load a tree member's native artifact as a Treelite model."""
    if kind == "xgboost":
        return treelite.frontend.load_xgboost_model(str(path))
    if kind == "lightgbm":
        return treelite.frontend.load_lightgbm_model(str(path))
    if kind == "random_forest":
        return treelite.Model.deserialize(str(path))
    raise ValueError(f"{kind} is not a tree member")


def build_key(checksum: str) -> str:
    """Cache key of a compiled library: artifact checksum, platform and TL2cgen version."""
    machine = f"{sys.platform}-{platform.machine()}"
    return f"{checksum[:24]}-{machine}-tl2cgen{tl2cgen.__version__}"


class RowKernel:
    """The compiled library's own per-row ``predict``, called through ctypes, row by row.

    Through TL2cgen's Python API a batch pays ~30 µs before its first row (a DMatrix, the batch
    runtime, an output array); the generated function itself takes a few µs a row, so batches
    up to ``ROW_KERNEL_ROWS`` go through it directly. It accumulates into its output and adds
    the base score, so the output buffer starts zeroed. Inputs are finite float32 values
    (checked by the caller), so the ``Entry`` union's missing-value aliasing cannot trigger.
    """

    __slots__ = ("_lib", "_predict", "_rows", "_out", "_addresses")

    def __init__(self, libpath: Path, n_features: int, n_outputs: int) -> None:
        self._lib = ctypes.CDLL(str(libpath))
        self._lib.get_threshold_type.restype = ctypes.c_char_p
        self._lib.get_leaf_output_type.restype = ctypes.c_char_p
        self._predict = self._lib.predict
        self._predict.restype = None
        self._predict.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        # Fixed buffers (the caller holds the lock), so a call passes precomputed addresses.
        entry, leaf = (
            _dtype(self._lib.get_threshold_type()),
            _dtype(self._lib.get_leaf_output_type()),
        )
        self._rows = np.zeros((ROW_KERNEL_ROWS, n_features), dtype=entry)
        self._out = np.zeros((ROW_KERNEL_ROWS, n_outputs), dtype=leaf)
        rows, out = self._rows.ctypes.data, self._out.ctypes.data
        self._addresses = [
            (rows + i * self._rows.strides[0], out + i * self._out.strides[0])
            for i in range(ROW_KERNEL_ROWS)
        ]

    def __call__(self, X: F32) -> F64:
        """Raw margins of a (n <= ROW_KERNEL_ROWS, n_features) batch, shape (n, n_outputs)."""
        n = len(X)
        self._rows[:n] = X
        self._out[:n] = 0.0
        predict = self._predict
        for row, out in self._addresses[:n]:
            predict(row, 1, out)
        return self._out[:n].astype(np.float64)


def _dtype(name: bytes) -> type[np.floating[Any]]:
    return np.float32 if name == b"float32" else np.float64


class TreePredictor:
    """A tree member's serving predictor: raw outputs (margins or probabilities) as (n, k)."""

    __slots__ = ("backend", "_model", "_predictor", "_lock", "_row")

    def __init__(
        self, backend: Backend, model: treelite.Model, predictor: Any, libpath: Path | None = None
    ) -> None:
        self.backend: Backend = backend
        self._model = model
        self._predictor = predictor
        # TL2cgen documents Predictor.predict as one thread at a time; a call is ~10 µs.
        self._lock = threading.Lock()
        self._row = None if libpath is None else self._row_kernel(libpath)

    def raw(self, X: F32) -> F64:
        """Raw member output for a C-contiguous float32 batch, shape (n, n_outputs)."""
        if self._predictor is None:
            with self._lock:  # gtil makes no thread-safety promise either
                out = treelite.gtil.predict(self._model, X, nthread=1, pred_margin=True)
        elif len(X) <= ROW_KERNEL_ROWS and self._row is not None:
            with self._lock:
                return self._row(X)
        else:
            dmat = tl2cgen.DMatrix(X)
            with self._lock:
                out = self._predictor.predict(dmat, pred_margin=True)
        return np.asarray(out, dtype=np.float64).reshape(len(X), -1)

    def _row_kernel(self, libpath: Path) -> RowKernel | None:
        """The per-row fast path, if it agrees exactly with the batch runtime on sample rows."""
        n_features = int(self._predictor.num_feature)
        noise = np.random.default_rng(0).normal(scale=50.0, size=(8, n_features))
        sample = np.ascontiguousarray(noise, dtype=np.float32)
        batch = np.asarray(self._predictor.predict(tl2cgen.DMatrix(sample), pred_margin=True))
        batch = batch.reshape(len(sample), -1).astype(np.float64)
        kernel = RowKernel(libpath, n_features, batch.shape[1])
        if not np.array_equal(kernel(sample), batch):
            logger.warning("%s: per-row kernel disagrees with TL2cgen; using the batch path",
                           libpath)  # fmt: skip
            return None
        return kernel


def tree_predictor(
    model: treelite.Model, checksum: str, build_dir: Path, *, compiler: str | None
) -> TreePredictor:
    """Compile (or reuse the cached build of) a Treelite model; gtil when ``compiler`` is None."""
    if compiler is None:
        return TreePredictor("gtil", model, None)
    libpath = compiled_library(model, checksum, build_dir, compiler)
    predictor = tl2cgen.Predictor(str(libpath), nthread=1)
    return TreePredictor("tl2cgen", model, predictor, libpath)


def compiled_library(model: treelite.Model, checksum: str, build_dir: Path, compiler: str) -> Path:
    """Path of the cached shared library for ``checksum``, compiling it if missing."""
    target_dir = build_dir / build_key(checksum)
    libpath = target_dir / f"predictor{_library_suffix()}"
    if libpath.exists():
        return libpath
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".build-") as tmp:
        staging = Path(tmp) / libpath.name
        units = max(1, min(os.cpu_count() or 1, 4))
        tl2cgen.export_lib(
            model,
            toolchain=compiler,
            libpath=str(staging),
            params={"parallel_comp": units},
            nthread=units,
        )
        os.replace(staging, libpath)
    logger.info("compiled %s with %s", libpath, compiler)
    return libpath


def _library_suffix() -> str:
    if sys.platform == "darwin":
        return ".dylib"
    return ".dll" if sys.platform in ("win32", "cygwin") else ".so"
