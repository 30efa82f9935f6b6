"""NBA props players: three per team (a guard, a wing and a big) and their game stats.

A player's expected points, rebounds and assists in a game are his role's line, times his own
and this season's form, times the game's pace (his team's expected points), times 0.94 on a
back-to-back. The stat itself is negative binomial around that mean, so P(over) is exact. A
player's stats are drawn independently of the final score (they need not add up to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np

from ._types import FloatArray, IntArray
from .basketball import LEAGUE_TOTAL, BasketballGames
from .schedule import Schedule
from .streams import Purpose, stream

STATS: Final[tuple[str, ...]] = ("points", "rebounds", "assists")
ROLES: Final[tuple[str, ...]] = ("guard", "wing", "big")
PLAYERS_PER_TEAM: Final = len(ROLES)
_ROLE_LINES: Final = np.array([[24.0, 4.5, 7.0], [19.0, 6.5, 3.5], [14.0, 10.5, 2.0]])
_PACE_POWER: Final = np.array([1.0, 0.5, 0.8])  # how each stat follows the team's points
DISPERSION: Final = np.array([20.0, 30.0, 25.0])  # negative binomial size, per stat
_PLAYER_SPREAD: Final = 0.18
_SEASON_SPREAD: Final = 0.08
_PROJECTION_SPREAD: Final = 0.10
_BACK_TO_BACK: Final = 0.94
_SPORT: Final = "basketball_nba"
_FIRST_NAMES: Final = (
    "Aaron", "Andre", "Bam", "Caleb", "Cam", "Darius", "De'Andre", "Derrick", "Desmond",
    "Dillon", "Evan", "Franz", "Isaiah", "Jalen", "Jaylen", "Jordan", "Josh", "Julius",
    "Keegan", "Kelly", "Kevin", "Kyle", "Lonzo", "Malik", "Marcus", "Mikal", "Myles", "Nikola",
    "OG", "Paolo", "Reggie", "Scottie", "Shai", "Trey", "Tyrese", "Tyler", "Victor", "Zach",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Allen", "Anderson", "Bailey", "Barnes", "Bridges", "Brooks", "Brown", "Carter", "Collins",
    "Daniels", "Davis", "Edwards", "Ellis", "Fox", "Green", "Grant", "Harris", "Hart", "Holiday",
    "Jackson", "Johnson", "Jones", "King", "Lopez", "Mitchell", "Murray", "Porter", "Reed",
    "Robinson", "Simmons", "Smith", "Thompson", "Turner", "Walker", "Washington", "White",
    "Williams", "Young",
)  # fmt: skip


@dataclass(frozen=True)
class PlayerGames:
    """Each game's props players: shape (games, side (home, away), role, stat)."""

    mean: FloatArray  # the player's expected stat in the game
    value: IntArray  # what he actually recorded
    projection: FloatArray  # the preseason projection of his per-game stat (known all season)


def player_names(seed: int) -> tuple[tuple[str, ...], ...]:
    """The props players of each NBA team, by role (guard, wing, big)."""
    return _roster(seed)[0]


def player_ids(team: IntArray) -> IntArray:
    """Ids (team * 3 + role) of the props players of each team, by role: shape (..., 3)."""
    return team[..., None] * PLAYERS_PER_TEAM + np.arange(PLAYERS_PER_TEAM)


def simulate_players(
    seed: int, season: int, schedule: Schedule, games: BasketballGames
) -> PlayerGames:
    """Expected and actual stats of every props player in every game of one season."""
    career = _career_form(seed)
    rng = stream(seed, _SPORT, season, Purpose.PLAYERS)
    form = career * np.exp(rng.normal(0.0, _SEASON_SPREAD, career.shape))
    projection = form * np.exp(rng.normal(0.0, _PROJECTION_SPREAD, career.shape))
    teams = np.stack([schedule.home, schedule.away], axis=1)
    rest = np.stack([schedule.home_rest, schedule.away_rest], axis=1)
    pace = games.expected_points() / (LEAGUE_TOTAL / 2.0)
    minutes = np.where(rest == 0, _BACK_TO_BACK, 1.0)
    scale = pace[..., None, None] ** _PACE_POWER * minutes[..., None, None]
    mean = form[teams] * scale
    size = np.broadcast_to(DISPERSION, mean.shape)
    value = rng.negative_binomial(size, size / (size + mean))
    return PlayerGames(mean=mean, value=value.astype(np.int64), projection=projection[teams])


def _career_form(seed: int) -> FloatArray:
    """Each player's usual per-game line: shape (teams, role, stat)."""
    return _roster(seed)[1]


@cache
def _roster(seed: int) -> tuple[tuple[tuple[str, ...], ...], FloatArray]:
    rng = stream(seed, _SPORT, 0, Purpose.ROSTER)
    count = 30 * PLAYERS_PER_TEAM
    drawn = rng.choice(len(_FIRST_NAMES) * len(_LAST_NAMES), size=count, replace=False)
    names = [
        f"{_FIRST_NAMES[p // len(_LAST_NAMES)]} {_LAST_NAMES[p % len(_LAST_NAMES)]}" for p in drawn
    ]
    by_team = tuple(
        tuple(names[t * PLAYERS_PER_TEAM : (t + 1) * PLAYERS_PER_TEAM]) for t in range(30)
    )
    spread = np.exp(rng.normal(0.0, _PLAYER_SPREAD, (30, PLAYERS_PER_TEAM, len(STATS))))
    form = np.asarray(_ROLE_LINES * spread, dtype=np.float64)
    form.flags.writeable = False  # shared by every caller through the cache
    return by_team, form
