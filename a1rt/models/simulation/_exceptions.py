"""Errors raised by the league and market simulator.

SimulationError (ModelError, ValueError)
├── UnknownSportError       a sport key the simulator has no league for
├── UnknownDatasetError     a model name build_dataset cannot build (also DatasetUnavailable)
└── InvalidSimulationError  a seed, season count, start time or speed out of range
"""

from __future__ import annotations

from a1rt.models._exceptions import DatasetUnavailable, ModelError


class SimulationError(ModelError, ValueError):
    """Raised when the simulator is asked for something it cannot build; the root of its errors."""


class UnknownSportError(SimulationError):
    """Raised when a sport key is not one of the simulated leagues."""


class UnknownDatasetError(SimulationError, DatasetUnavailable):
    """Raised when build_dataset is given a model name it has no simulated market for."""


class InvalidSimulationError(SimulationError):
    """Raised when a seed, season count, start time or speed is out of range."""
