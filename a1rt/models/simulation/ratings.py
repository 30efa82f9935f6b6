"""Online ratings a bettor could keep: Elo and scoring averages, updated only by finished games.

Every update is stamped with the time the game ended, and a `Timeline` answers "what did the
rating say at time t" from the updates stamped at or before t, so features built from it never
see a result that was not yet known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from ._exceptions import SimulationError
from ._types import FloatArray, IntArray
from .league import League
from .players import PLAYERS_PER_TEAM, player_ids
from .sports import Sport

ELO_START: Final = 1500.0
_SPAN: Final = 1e10  # separates entities in a Timeline's keys (times are below 1e10)
_FORM_WEIGHT: Final = 0.1  # weight of the newest game in the scoring averages
_PLAYER_WEIGHT: Final = 0.15


@dataclass(frozen=True)
class EloRule:
    """Elo's parameters for a sport (betting-math §4.1)."""

    k: float
    home: float  # home advantage in Elo points
    regress: float  # share of the distance to the mean given back between seasons
    average_points: float  # where the scoring averages start


ELO_RULES: Final[dict[Sport, EloRule]] = {
    "basketball_nba": EloRule(k=20.0, home=100.0, regress=1 / 3, average_points=112.5),
    "americanfootball_nfl": EloRule(k=20.0, home=65.0, regress=1 / 3, average_points=22.0),
    "soccer_epl": EloRule(k=20.0, home=70.0, regress=1 / 3, average_points=1.4),
}


@dataclass(frozen=True)
class Timeline:
    """Values per entity over time: the latest value stamped at or before a moment."""

    keys: FloatArray  # entity * _SPAN + time, ascending
    values: FloatArray  # (updates, width)
    initial: FloatArray  # (width,): the value before an entity's first update

    def at(self, entity: IntArray, time: FloatArray) -> FloatArray:
        """Each entity's latest value at `time`: shape (queries, width)."""
        base = entity * _SPAN
        position = np.searchsorted(self.keys, base + time, side="right") - 1
        found = (position >= 0) & (self.keys[np.maximum(position, 0)] >= base)
        return np.where(found[:, None], self.values[np.maximum(position, 0)], self.initial)


def timeline(
    entity: IntArray, time: FloatArray, values: FloatArray, initial: FloatArray
) -> Timeline:
    """A Timeline from updates (entity, time, values); later updates win ties."""
    keys = entity * _SPAN + time
    order = np.argsort(keys, kind="stable")
    return Timeline(keys=keys[order], values=values[order], initial=initial)


def team_form(league: League) -> Timeline:
    """Each team's Elo, points-scored and points-allowed averages over time."""
    rule = ELO_RULES[league.rules.key]
    teams = len(league.teams)
    state = np.tile([ELO_START, rule.average_points, rule.average_points], (teams, 1)).astype(float)
    entity: list[int] = []
    stamp: list[float] = []
    values: list[FloatArray] = []
    end = league.end_time
    schedule, results = league.schedule, league.results
    for season, opens in _season_openings(league):
        if season > 0:
            state[:, 0] = ELO_START + (1.0 - rule.regress) * (state[:, 0] - ELO_START)
            _record(entity, stamp, values, np.arange(teams), opens, state)
        games = np.flatnonzero(schedule.season == season)
        for game in games[np.argsort(end[games], kind="stable")]:
            home, away = int(schedule.home[game]), int(schedule.away[game])
            scored = (int(results.home_score[game]), int(results.away_score[game]))
            update_team_pair(rule, league.sport, state, home, away, scored)
            _record(entity, stamp, values, np.array([home, away]), float(end[game]), state)
    initial = np.array([ELO_START, rule.average_points, rule.average_points])
    return timeline(np.asarray(entity), np.asarray(stamp), np.vstack(values), initial)


def player_form(league: League) -> Timeline:
    """Each props player's averages of (points, rebounds, assists) over time, by player id.

    Each season starts from the preseason projection, known before its first game.
    """
    players = league.players
    if players is None:
        raise SimulationError(f"{league.sport} has no props players")
    state = np.zeros((len(league.teams) * PLAYERS_PER_TEAM, players.mean.shape[-1]))
    entity: list[int] = []
    stamp: list[float] = []
    values: list[FloatArray] = []
    end = league.end_time
    sides = np.stack([league.schedule.home, league.schedule.away], axis=1)
    for season, opens in _season_openings(league):
        games = np.flatnonzero(league.schedule.season == season)
        ids = player_ids(sides[games])  # (games, side, role)
        state[ids.reshape(-1)] = players.projection[games].reshape(-1, state.shape[1])
        _record(entity, stamp, values, np.arange(state.shape[0]), opens, state)
        for game in games[np.argsort(end[games], kind="stable")]:
            who = player_ids(sides[game]).reshape(-1)
            state[who] += _PLAYER_WEIGHT * (players.value[game].reshape(len(who), -1) - state[who])
            _record(entity, stamp, values, who, float(end[game]), state)
    first = np.flatnonzero(league.schedule.season == league.schedule.season[0])
    initial = players.projection[first].mean(axis=(0, 1, 2))  # known before the first game
    return timeline(np.asarray(entity), np.asarray(stamp), np.vstack(values), initial)


def _season_openings(league: League) -> list[tuple[int, float]]:
    """Each season and a moment before any of its markets open."""
    opening = league.schedule.start - max(league.rules.market_offsets) - 3600.0
    seasons = np.unique(league.schedule.season)
    return [(int(s), float(opening[league.schedule.season == s].min())) for s in seasons]


def _record(
    entity: list[int],
    stamp: list[float],
    values: list[FloatArray],
    who: IntArray,
    time: float,
    state: FloatArray,
) -> None:
    entity.extend(who.tolist())
    stamp.extend([time] * len(who))
    values.append(state[who].copy())


def update_team_pair(
    rule: EloRule, sport: Sport, state: FloatArray, home: int, away: int, scored: tuple[int, int]
) -> None:
    """Elo and scoring averages after one game."""
    diff = state[home, 0] + rule.home - state[away, 0]
    expected = 1.0 / (1.0 + 10.0 ** (-diff / 400.0))
    margin = scored[0] - scored[1]
    result = 1.0 if margin > 0 else 0.5 if margin == 0 else 0.0
    winner_edge = diff if margin > 0 else -diff
    delta = rule.k * _margin_multiplier(sport, abs(margin), winner_edge) * (result - expected)
    state[home, 0] += delta
    state[away, 0] -= delta
    for team, points, allowed in ((home, scored[0], scored[1]), (away, scored[1], scored[0])):
        state[team, 1] += _FORM_WEIGHT * (points - state[team, 1])
        state[team, 2] += _FORM_WEIGHT * (allowed - state[team, 2])


def _margin_multiplier(sport: Sport, margin: int, winner_edge: float) -> float:
    """How much a margin of victory scales the Elo update (538's NBA/NFL forms; goals for EPL)."""
    if sport == "basketball_nba":
        return float((margin + 3) ** 0.8 / max(7.5 + 0.006 * winner_edge, 1.0))
    if sport == "americanfootball_nfl":
        return math.log(margin + 1) * 2.2 / max(0.001 * winner_edge + 2.2, 0.5)
    return 1.0 if margin <= 1 else 1.5 if margin == 2 else (11.0 + margin) / 8.0
