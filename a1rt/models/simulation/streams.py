"""Independent, reproducible random streams: one per (seed, sport, season, purpose).

Keying every draw by season and purpose keeps a season's games the same however many seasons
are built, and lets the live World build seasons lazily with the same results.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from ._exceptions import InvalidSimulationError
from .sports import rules


class Purpose(IntEnum):
    """What a stream's draws are used for."""

    STRENGTHS = 1
    DRIFT = 2
    SCHEDULE = 3
    GAMES = 4
    MARKET = 5
    LIVE = 6
    PLAYERS = 7
    PROPS = 8
    ROWS = 9
    ROSTER = 10


def check_seed(seed: object) -> int:
    """Return a valid seed (a non-negative int), or raise InvalidSimulationError."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidSimulationError(f"seed = {seed!r} must be a non-negative integer")
    return int(seed)


def stream(seed: int, sport: str, season: int, purpose: Purpose) -> np.random.Generator:
    """The generator for one purpose of one season of one sport under `seed`."""
    key = (rules(sport).code, season, int(purpose))
    return np.random.default_rng(np.random.SeedSequence(check_seed(seed), spawn_key=key))
