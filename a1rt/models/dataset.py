"""The training-data contract between the simulator and the trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

FeatureType = Literal["float", "int", "bool"]


class FeatureSpec(msgspec.Struct, frozen=True):
    """One input of a model: its name, type and the range a request may use."""

    name: str
    type: FeatureType
    min: float
    max: float


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows for one model, ordered by the time their features became available."""

    name: str  # the model name, `<sport>_<market>`, e.g. "basketball_nba_h2h"
    features: tuple[FeatureSpec, ...]
    outcomes: tuple[str, ...]  # e.g. ("home", "away"), ("home", "draw", "away"), ("over", "under")
    X: npt.NDArray[np.float32]  # (n, len(features)), C-contiguous
    y: npt.NDArray[np.int64]  # (n,), index into outcomes
    true_p: npt.NDArray[np.float64]  # (n, len(outcomes)): the simulator's true probabilities
    market_p: npt.NDArray[np.float64]  # (n, len(outcomes)): devigged market consensus
    season: npt.NDArray[np.int64]  # (n,): season index, for time-ordered splits
    available_at: npt.NDArray[np.float64]  # (n,): epoch seconds when the row's features were known
