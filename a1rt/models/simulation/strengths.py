"""Team strengths: a random walk across seasons with regression to the mean, drifting within one.

A strength has one or more components in the units its game model uses (points for the NBA and
NFL, log goal rates for the EPL). Each season keeps `carry` of last season's deviation from the
league mean and adds fresh noise sized so the spread between teams stays at `sd`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from ._types import FloatArray, IntArray
from .sports import Sport, rules
from .streams import Purpose, stream


@dataclass(frozen=True)
class StrengthModel:
    """The spread of each strength component between teams and how it moves."""

    sd: tuple[float, ...]  # between-team standard deviation of each component
    within_sd: tuple[float, ...]  # how far each component drifts by the end of a season
    carry: float  # share of last season's deviation kept (1 - regression to the mean)
    correlation: float = 0.0  # between components 0 and 1

    @property
    def components(self) -> int:
        """How many numbers describe one team."""
        return len(self.sd)


STRENGTH_MODELS: Final[dict[Sport, StrengthModel]] = {
    # net rating (points per game) and scoring tendency (points added to the game total)
    "basketball_nba": StrengthModel(sd=(4.5, 4.0), within_sd=(1.5, 1.5), carry=2 / 3),
    "americanfootball_nfl": StrengthModel(sd=(5.5, 2.5), within_sd=(1.5, 0.8), carry=0.6),
    # attack and defence (log goal rates; a higher defence concedes more): good sides have both
    "soccer_epl": StrengthModel(
        sd=(0.25, 0.25), within_sd=(0.06, 0.06), carry=0.75, correlation=-0.6
    ),
}


def season_strengths(seed: int, sport: str, seasons: int, teams: int) -> FloatArray:
    """Each team's strength at the start of each season: shape (seasons, teams, components)."""
    model = STRENGTH_MODELS[rules(sport).key]
    fresh = np.sqrt(1.0 - model.carry**2)
    state = np.zeros((teams, model.components))
    out = np.empty((seasons, teams, model.components))
    for season in range(seasons):
        noise = _correlated(stream(seed, sport, season, Purpose.STRENGTHS), model, teams)
        state = noise if season == 0 else model.carry * state + fresh * noise
        state = state - state.mean(axis=0)
        out[season] = state
    return out


def season_drift(seed: int, sport: str, season: int, teams: int, days: int) -> FloatArray:
    """Each team's drift from its season strength on each day: shape (days, teams, components)."""
    model = STRENGTH_MODELS[rules(sport).key]
    rng = stream(seed, sport, season, Purpose.DRIFT)
    step = np.asarray(model.within_sd) / np.sqrt(max(days, 1))
    walk = np.cumsum(rng.normal(size=(days, teams, model.components)) * step, axis=0)
    return np.asarray(walk - walk.mean(axis=1, keepdims=True), dtype=np.float64)


def game_strengths(
    start: FloatArray, drift: FloatArray, team: IntArray, day: IntArray
) -> FloatArray:
    """The strength a team brings to each of its games: season start plus drift to that day."""
    return start[team] + drift[np.clip(day, 0, drift.shape[0] - 1), team]


def _correlated(rng: np.random.Generator, model: StrengthModel, teams: int) -> FloatArray:
    z = rng.normal(size=(teams, model.components))
    if model.components > 1 and model.correlation:
        rho = model.correlation
        z[:, 1] = rho * z[:, 0] + np.sqrt(1.0 - rho * rho) * z[:, 1]
    return np.asarray(z * np.asarray(model.sd), dtype=np.float64)
