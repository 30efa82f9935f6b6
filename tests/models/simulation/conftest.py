"""Shared, session-built simulations (they are deterministic, so sharing them is safe)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from a1rt.models.dataset import Dataset
from a1rt.models.simulation import DATASET_NAMES, League, build_dataset, simulate_league

CalibrationCheck = Callable[[np.ndarray, np.ndarray, int], float]


@pytest.fixture(scope="session")
def built_datasets() -> tuple[dict[str, Dataset], float]:
    """Every dataset at its default size (seed 0), and how long building all of them took."""
    started = time.perf_counter()
    datasets = {name: build_dataset(name, seed=0) for name in DATASET_NAMES}
    return datasets, time.perf_counter() - started


@pytest.fixture(scope="session")
def leagues() -> dict[str, League]:
    """Six seasons of each league (seed 0)."""
    return {
        sport: simulate_league(sport, seed=0, seasons=6)
        for sport in ("basketball_nba", "americanfootball_nfl", "soccer_epl")
    }


def worst_calibration_z(p: np.ndarray, hit: np.ndarray, rows_per_unit: int = 1) -> float:
    """The largest |z| of any probability bin's hit rate against its mean probability.

    Bins are deciles of p (at least 200 rows each). The standard error is binomial, with the
    rows shrunk by `rows_per_unit` when that many rows can share one random outcome.
    """
    edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, 11)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    worst = 0.0
    for b in np.unique(which):
        chosen = which == b
        if chosen.sum() < 200:
            continue
        mean_p = float(p[chosen].mean())
        units = chosen.sum() / rows_per_unit
        se = np.sqrt(max(mean_p * (1.0 - mean_p), 1e-4) / units)
        worst = max(worst, abs(float(hit[chosen].mean()) - mean_p) / se)
    return worst


@pytest.fixture
def calibration_z() -> CalibrationCheck:
    """The worst-bin calibration z-score check (see `worst_calibration_z`)."""
    return worst_calibration_z
