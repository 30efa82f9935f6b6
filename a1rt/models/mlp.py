"""The MLP member served as plain numpy: no scikit-learn at serve time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from a1rt.models._npz import write_npz
from a1rt.models.ensemble import margins_as_class_logits, softmax

F64 = npt.NDArray[np.float64]
_ACTIVATIONS = ("relu", "tanh", "identity")


class NumpyMLP:
    """Standardise, hidden layers, linear output: the logits of an MLPClassifier."""

    __slots__ = ("mean", "scale", "weights", "biases", "activation")

    def __init__(
        self,
        mean: F64,
        scale: F64,
        weights: tuple[F64, ...],
        biases: tuple[F64, ...],
        activation: str,
    ) -> None:
        if activation not in _ACTIVATIONS or len(weights) != len(biases) or not weights:
            raise ValueError(f"unsupported MLP: activation {activation!r}, {len(weights)} layers")
        self.mean, self.scale = mean, scale
        self.weights, self.biases = weights, biases
        self.activation = activation

    @classmethod
    def from_sklearn(cls, scaler: Any, clf: Any) -> NumpyMLP:
        """Copy the weights out of a fitted StandardScaler and MLPClassifier."""
        return cls(
            np.asarray(scaler.mean_, dtype=np.float64),
            np.asarray(scaler.scale_, dtype=np.float64),
            tuple(np.asarray(w, dtype=np.float64) for w in clf.coefs_),
            tuple(np.asarray(b, dtype=np.float64) for b in clf.intercepts_),
            str(clf.activation),
        )

    @property
    def n_layers(self) -> int:
        """Number of weight layers, output included."""
        return len(self.weights)

    def logits(self, X: npt.NDArray[np.floating[Any]]) -> F64:
        """Output-layer logits: (n, 1) for two classes (log-odds of class 1), else (n, k)."""
        h = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = self._activate(h @ w + b)
        result: F64 = h @ self.weights[-1] + self.biases[-1]
        return result

    def probabilities(self, X: npt.NDArray[np.floating[Any]]) -> F64:
        """Class probabilities, shape (n, k)."""
        return softmax(margins_as_class_logits(self.logits(X)))

    def _activate(self, h: F64) -> F64:
        if self.activation == "relu":
            return np.maximum(h, 0.0)
        if self.activation == "tanh":
            return np.tanh(h)
        return h

    def save(self, path: Path) -> None:
        """Write the weights as an uncompressed ``.npz`` (no pickled objects)."""
        arrays = {"mean": self.mean, "scale": self.scale}
        arrays |= {f"w{i}": w for i, w in enumerate(self.weights)}
        arrays |= {f"b{i}": b for i, b in enumerate(self.biases)}
        write_npz(path, {"activation": np.array(self.activation)} | arrays)

    @classmethod
    def load(cls, path: Path) -> NumpyMLP:
        """Read weights written by :meth:`save`; raises OSError/KeyError/ValueError if broken."""
        with np.load(path, allow_pickle=False) as npz:
            n = sum(1 for key in npz.files if key.startswith("w"))
            return cls(
                npz["mean"],
                npz["scale"],
                tuple(npz[f"w{i}"] for i in range(n)),
                tuple(npz[f"b{i}"] for i in range(n)),
                str(npz["activation"]),
            )
