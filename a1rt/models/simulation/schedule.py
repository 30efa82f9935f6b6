"""Season schedules: who plays whom, on which day, at what time (UTC), after how much rest.

Rounds come from the circle method, so every team plays once per round: 82 rounds spread over
~170 days for the NBA (two days per round, so back-to-backs happen), 17 weekly rounds with
Thursday, Sunday and Monday slots for the NFL, and 38 matchweeks for the EPL, some midweek.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np

from ._types import FloatArray, IntArray
from .sports import Sport, rules

DAY: Final = 86400.0
REST_CAP: Final[dict[Sport, int]] = {
    "basketball_nba": 7,
    "americanfootball_nfl": 14,
    "soccer_epl": 14,
}

# NBA tip-offs, seconds from midnight UTC after the (US) game day: 7:30 pm to 10:30 pm ET.
_NBA_SLOTS: Final = np.array([-1800.0, 0.0, 0.0, 1800.0, 3600.0, 5400.0, 9000.0])
_NBA_SEASON_DAYS: Final = 170
# Half an hour before a game day's first tip-off, seconds after midnight UTC: pregame markets
# and props are open and the evening's games are all ahead (a demo, a test or a bench starts here).
NBA_EVENING: Final = DAY + float(_NBA_SLOTS[0]) - 1800.0
# NFL week slots, seconds from Sunday 00:00 UTC, with the US calendar day relative to Sunday.
_NFL_SLOTS: Final = np.array(
    [[-2 * DAY + 900.0, -3]] + [[61200.0, 0]] * 9 + [[73500.0, 0]] * 4
    + [[87600.0, 0], [2 * DAY + 900.0, 1]]
)  # fmt: skip
# EPL kick-offs, seconds from the Saturday (or Tuesday, midweek) 00:00 UTC of the matchweek.
_EPL_WEEKEND: Final = np.array(
    [41400.0] + [50400.0] * 5 + [59400.0] + [DAY + 46800.0] * 2 + [DAY + 55800.0]
)
_EPL_MIDWEEK: Final = np.array([67500.0] * 5 + [DAY + 67500.0] * 3 + [DAY + 68400.0] * 2)
_EPL_MIDWEEK_ROUNDS: Final = 6


@dataclass(frozen=True)
class Schedule:
    """When and where the games of one or more seasons are played, in start order per season."""

    season: IntArray
    home: IntArray
    away: IntArray
    day: IntArray  # the local calendar day of the game, counted from the season's first day
    start: FloatArray  # epoch seconds, UTC
    home_rest: IntArray  # full days off since the home team's previous game (capped)
    away_rest: IntArray


def season_day0(sport: str, year: int) -> float:
    """Midnight UTC of the first game day of the season that starts in `year`."""
    sport_rules = rules(sport)
    month, day = sport_rules.season_month_day
    first = dt.date(year, month, day)
    if sport_rules.season_weekday >= 0:
        first += dt.timedelta(days=(sport_rules.season_weekday - first.weekday()) % 7)
    return float(calendar.timegm(first.timetuple()))


def season_schedule(
    sport: str, teams: int, season: int, day0: float, rng: np.random.Generator
) -> Schedule:
    """One season's schedule for `teams` teams whose first game day starts at `day0`."""
    key = rules(sport).key
    if key == "basketball_nba":
        pairs, day, start = _nba_rounds(teams, day0, rng)
    elif key == "americanfootball_nfl":
        pairs, day, start = _nfl_rounds(teams, day0, rng)
    else:
        pairs, day, start = _epl_rounds(teams, day0, rng)
    order = np.argsort(start.ravel(), kind="stable")
    home = pairs[..., 0].ravel()[order]
    away = pairs[..., 1].ravel()[order]
    days = day.ravel()[order]
    home_rest, away_rest = _rest_days(home, away, days, REST_CAP[key])
    return Schedule(
        season=np.full(order.size, season, dtype=np.int64),
        home=home,
        away=away,
        day=days,
        start=start.ravel()[order],
        home_rest=home_rest,
        away_rest=away_rest,
    )


def _round_robin(teams: int, rng: np.random.Generator) -> IntArray:
    """A single round robin by the circle method, randomly labelled, not yet oriented."""
    others = np.arange(1, teams)
    rounds = []
    for shift in range(teams - 1):
        line = np.concatenate([[0], np.roll(others, shift)])
        rounds.append(np.stack([line[: teams // 2], line[::-1][: teams // 2]], axis=1))
    return np.asarray(rng.permutation(teams)[np.stack(rounds)], dtype=np.int64)


def _balance_home_games(pairs: IntArray, teams: int, rng: np.random.Generator) -> IntArray:
    """Orient each pairing so the side with fewer home games so far hosts (ties at random)."""
    hosted = np.zeros(teams)
    for games in pairs:
        tilt = hosted[games[:, 0]] - hosted[games[:, 1]] + rng.uniform(-0.5, 0.5, len(games))
        games[tilt > 0] = games[tilt > 0, ::-1]
        hosted[games[:, 0]] += 1
    return pairs


def _nba_rounds(
    teams: int, day0: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray, FloatArray]:
    first = _balance_home_games(_round_robin(teams, rng), teams, rng)
    return_legs = first[rng.permutation(first.shape[0])][..., ::-1]
    extra = _balance_home_games(_round_robin(teams, rng)[: 82 - 2 * first.shape[0]], teams, rng)
    pairs = np.concatenate([first, return_legs, extra])[rng.permutation(82)]
    base = np.floor(np.arange(82) * _NBA_SEASON_DAYS / 82).astype(np.int64)
    day = base[:, None] + rng.integers(0, 2, size=pairs.shape[:2])
    slot = rng.choice(_NBA_SLOTS, size=pairs.shape[:2])
    return pairs, day, day0 + (day + 1) * DAY + slot


def _nfl_rounds(
    teams: int, day0: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray, FloatArray]:
    cycle = _round_robin(teams, rng)
    chosen = np.sort(rng.choice(cycle.shape[0], size=17, replace=False))
    pairs = _balance_home_games(cycle[chosen], teams, rng)
    weeks = np.arange(17)[:, None]
    slots = np.stack([_NFL_SLOTS[rng.permutation(len(_NFL_SLOTS))] for _ in range(17)])
    day = 7 * weeks + slots[..., 1].astype(np.int64)
    return pairs, day, day0 + 7 * DAY * weeks + slots[..., 0]


def _epl_rounds(
    teams: int, day0: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray, FloatArray]:
    first = _balance_home_games(_round_robin(teams, rng), teams, rng)
    pairs = np.concatenate([first, first[rng.permutation(first.shape[0])][..., ::-1]])
    rounds = pairs.shape[0]
    midweek = np.zeros(rounds, dtype=bool)
    midweek[rng.choice(np.arange(3, rounds - 1, 3), size=_EPL_MIDWEEK_ROUNDS, replace=False)] = True
    week = np.cumsum(~midweek) - 1
    round_day = 7 * week + np.where(midweek, 3, 0)
    offsets = np.stack([rng.permutation(_EPL_MIDWEEK if mid else _EPL_WEEKEND) for mid in midweek])
    start = day0 + round_day[:, None] * DAY + offsets
    day = round_day[:, None] + (offsets // DAY).astype(np.int64)
    return pairs, day, start


def _rest_days(
    home: IntArray, away: IntArray, day: IntArray, cap: int
) -> tuple[IntArray, IntArray]:
    team = np.concatenate([home, away])
    days = np.concatenate([day, day])
    order = np.lexsort((days, team))
    sorted_team, sorted_day = team[order], days[order]
    rest_sorted = np.full(team.size, cap, dtype=np.int64)
    same = sorted_team[1:] == sorted_team[:-1]
    gap = sorted_day[1:] - sorted_day[:-1] - 1
    rest_sorted[1:] = np.where(same, gap, cap)
    rest = np.empty_like(rest_sorted)
    rest[order] = np.clip(rest_sorted, 0, cap)
    return rest[: home.size], rest[home.size :]
