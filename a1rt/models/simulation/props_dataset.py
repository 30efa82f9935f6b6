"""The NBA props dataset: over/under on a player's points, rebounds or assists line.

Six rows per game, each a random props player and stat of that game (of 18), stamped when the
props are posted (8 h before tip-off).
The player's averages start each season from the preseason projection and move only with games
that had ended by the row's time; the game's total line is the latest posted by then.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from a1rt.models.dataset import Dataset, FeatureSpec

from ._exceptions import SimulationError
from ._types import FloatArray, IntArray
from .board import price_league
from .league import League
from .players import PLAYERS_PER_TEAM, STATS, player_ids
from .props import price_props
from .ratings import player_form, team_form
from .rows import assemble
from .streams import Purpose, stream

OUTCOMES: Final = ("over", "under")
SNAPSHOT: Final = 0  # when the props are posted
ROWS_PER_GAME: Final = 6  # of the 18 (side, role, stat) props of each game, chosen at random


def props_dataset(name: str, league: League) -> Dataset:
    """Over/under rows for every props player and stat of a basketball league."""
    players = league.players
    if players is None:
        raise SimulationError(f"{league.sport} has no player props")
    props = price_props(league)
    board = price_league(league)
    game, side, role, stat = _chosen_props(league, ROWS_PER_GAME)
    time = props.times[game, SNAPSHOT]
    line = props.line[game, SNAPSHOT, side, role, stat]
    teams = np.stack([league.schedule.home, league.schedule.away], axis=1)
    rests = np.stack([league.schedule.home_rest, league.schedule.away_rest], axis=1)
    player = player_ids(teams[game, side])[np.arange(game.size), role]
    opponent = teams[game, 1 - side]
    market = props.consensus()[game, SNAPSHOT, side, role, stat]
    posted = (board.times[game] <= time[:, None]).sum(axis=1) - 1
    columns: list[tuple[FeatureSpec, FloatArray | IntArray]] = [
        (FeatureSpec("stat_kind", "int", 0.0, 2.0), stat),
        (FeatureSpec("line", "float", 0.0, 80.0), line),
        (FeatureSpec("market_over_p", "float", 0.0, 1.0), market[:, 0]),
        (
            FeatureSpec("player_avg", "float", 0.0, 80.0),
            player_form(league).at(player, time)[np.arange(game.size), stat],
        ),
        (FeatureSpec("is_home", "bool", 0.0, 1.0), (side == 0).astype(np.int64)),
        (FeatureSpec("rest_days", "int", 0.0, 7.0), rests[game, side]),
        (FeatureSpec("market_total", "float", 150.0, 300.0), board.totals.point[game, posted]),
        (
            FeatureSpec("opponent_allowed_avg", "float", 70.0, 160.0),
            team_form(league).at(opponent, time)[:, 2],
        ),
    ]
    value = players.value[game, side, role, stat]
    return assemble(
        name,
        OUTCOMES,
        columns,
        y=np.where(value > line, 0, 1).astype(np.int64),
        true_p=props.true_p[game, SNAPSHOT, side, role, stat],
        market_p=market,
        season=league.schedule.season[game],
        available_at=time,
        tiebreak=np.arange(game.size),
    )


def _chosen_props(league: League, count: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(game, side, role, stat) of `count` distinct props per game, drawn per season."""
    choices = 2 * PLAYERS_PER_TEAM * len(STATS)
    picks = []
    for season in np.unique(league.schedule.season):
        games = int((league.schedule.season == season).sum())
        rng = stream(league.seed, league.sport, int(season), Purpose.ROWS)
        picks.append(np.sort(np.argsort(rng.random((games, choices)), axis=1)[:, :count], axis=1))
    pick = np.concatenate(picks)
    game = np.repeat(np.arange(league.size), count)
    side, role, stat = np.unravel_index(pick.ravel(), (2, PLAYERS_PER_TEAM, len(STATS)))
    return game, side.astype(np.int64), role.astype(np.int64), stat.astype(np.int64)
