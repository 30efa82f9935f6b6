"""Assembling a Dataset from feature columns: declared ranges, dtype and time order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from a1rt.models.dataset import Dataset, FeatureSpec

from ._types import FloatArray, IntArray


def assemble(
    name: str,
    outcomes: tuple[str, ...],
    columns: Sequence[tuple[FeatureSpec, FloatArray | IntArray]],
    *,
    y: IntArray,
    true_p: FloatArray,
    market_p: FloatArray,
    season: IntArray,
    available_at: FloatArray,
    tiebreak: IntArray,
) -> Dataset:
    """A Dataset with rows ordered by `available_at` (then `tiebreak`) and features clipped to
    their declared ranges (the ranges are wide enough that clipping is a guard, not a habit)."""
    order = np.lexsort((tiebreak, available_at))
    X = np.column_stack([np.clip(values, spec.min, spec.max) for spec, values in columns])
    return Dataset(
        name=name,
        features=tuple(spec for spec, _ in columns),
        outcomes=outcomes,
        X=np.ascontiguousarray(X[order], dtype=np.float32),
        y=np.ascontiguousarray(y[order], dtype=np.int64),
        true_p=np.ascontiguousarray(true_p[order], dtype=np.float64),
        market_p=np.ascontiguousarray(market_p[order], dtype=np.float64),
        season=np.ascontiguousarray(season[order], dtype=np.int64),
        available_at=np.ascontiguousarray(available_at[order], dtype=np.float64),
    )
