"""The h2h datasets: pregame and in-play rows together, so one model serves both.

Pregame rows are stamped at the opening and at the third snapshot (NBA 4 h, NFL and EPL a day
before the start), with the market as it stood then. In-play rows are stamped at randomly chosen
live steps inside regulation; their market features are the close, their `market_p` the live
consensus. Elo comes only from games that had ended by the row's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from a1rt.models.dataset import Dataset, FeatureSpec

from ._types import FloatArray, IntArray
from .board import MarketBoard, price_league
from .games import concat
from .league import League
from .live import live_noise, live_quotes, live_state
from .ratings import team_form
from .rows import assemble
from .sports import Sport
from .streams import Purpose, stream

PREGAME_SNAPSHOTS: Final = (0, 2)
IN_PLAY_ROWS: Final[dict[Sport, int]] = {
    "basketball_nba": 4,
    "americanfootball_nfl": 11,
    "soccer_epl": 6,
}
_REST: Final[dict[Sport, float]] = {
    "basketball_nba": 7,
    "americanfootball_nfl": 14,
    "soccer_epl": 14,
}
_SCORE_DIFF: Final[dict[Sport, float]] = {
    "basketball_nba": 80,
    "americanfootball_nfl": 70,
    "soccer_epl": 10,
}


@dataclass(frozen=True)
class _Rows:
    """Rows before features: which game, when, the state then and the targets."""

    game: IntArray
    time: FloatArray
    clock: FloatArray
    home: IntArray
    away: IntArray
    snapshot: IntArray  # the pregame board snapshot the market features come from
    true_p: FloatArray
    market_p: FloatArray
    in_play: IntArray


def h2h_dataset(name: str, league: League) -> Dataset:
    """The h2h dataset of a league: outcomes home/away (NBA, NFL) or home/draw/away (EPL)."""
    board = price_league(league)
    rows = concat([_pregame_rows(league, board), _in_play_rows(league, board)])
    return assemble(
        name,
        league.games.outcomes,
        _columns(league, board, rows),
        y=league.outcome()[rows.game],
        true_p=rows.true_p,
        market_p=rows.market_p,
        season=league.schedule.season[rows.game],
        available_at=rows.time,
        tiebreak=rows.game * 64 + rows.in_play,
    )


def _pregame_rows(league: League, board: MarketBoard) -> _Rows:
    snapshots = np.asarray(PREGAME_SNAPSHOTS)
    game = np.repeat(np.arange(league.size), snapshots.size)
    snapshot = np.tile(snapshots, league.size)
    zeros = np.zeros(game.size, dtype=np.int64)
    return _Rows(
        game=game,
        time=board.times[game, snapshot],
        clock=np.zeros(game.size),
        home=zeros,
        away=zeros,
        snapshot=snapshot,
        true_p=board.h2h.true_p[game, snapshot],
        market_p=board.h2h.consensus()[game, snapshot],
        in_play=zeros,
    )


def _in_play_rows(league: League, board: MarketBoard) -> _Rows:
    rules = league.rules
    steps = _chosen_steps(league, IN_PLAY_ROWS[rules.key])
    game = np.repeat(np.arange(league.size), steps.shape[1])
    step = steps.ravel()
    clock = rules.live_grid()[step]
    state = live_state(league, game, clock)
    noise = live_noise(league)
    _, fair = live_quotes(state.true_p, noise.shared[game, step], noise.own[game, step])
    close = board.times.shape[1] - 1
    return _Rows(
        game=game,
        time=league.schedule.start[game] + rules.wall_offset(clock),
        clock=clock,
        home=state.home,
        away=state.away,
        snapshot=np.full(game.size, close),
        true_p=state.true_p,
        market_p=fair.mean(axis=1),
        in_play=step,
    )


def _chosen_steps(league: League, count: int) -> IntArray:
    """`count` distinct live steps strictly inside regulation for every game."""
    inner = league.rules.regulation_steps()
    chosen = []
    for season in np.unique(league.schedule.season):
        games = int((league.schedule.season == season).sum())
        rng = stream(league.seed, league.sport, int(season), Purpose.ROWS)
        order = np.argsort(rng.random((games, inner)), axis=1)[:, : min(count, inner)]
        chosen.append(np.sort(order, axis=1) + 1)
    return np.concatenate(chosen).astype(np.int64)


def _columns(
    league: League, board: MarketBoard, rows: _Rows
) -> list[tuple[FeatureSpec, FloatArray | IntArray]]:
    rules = league.rules
    key = rules.key
    form = team_form(league)
    home_team = league.schedule.home[rows.game]
    away_team = league.schedule.away[rows.game]
    elo = form.at(home_team, rows.time)[:, 0] - form.at(away_team, rows.time)[:, 0]
    market = board.h2h.consensus()[rows.game, rows.snapshot]
    period, _ = rules.period_clock(rows.clock)
    columns: list[tuple[FeatureSpec, FloatArray | IntArray]] = [
        (FeatureSpec("elo_diff", "float", -1000.0, 1000.0), elo),
        (
            FeatureSpec("home_rest_days", "int", 0.0, _REST[key]),
            league.schedule.home_rest[rows.game],
        ),
        (
            FeatureSpec("away_rest_days", "int", 0.0, _REST[key]),
            league.schedule.away_rest[rows.game],
        ),
        (FeatureSpec("market_home_p", "float", 0.0, 1.0), market[:, 0]),
    ]
    if key == "soccer_epl":
        columns.append((FeatureSpec("market_draw_p", "float", 0.0, 1.0), market[:, 1]))
        total = board.totals.point[rows.game, rows.snapshot]
        columns.append((FeatureSpec("market_total", "float", 0.0, 7.0), total))
    else:
        spread = board.spreads.point[rows.game, rows.snapshot]
        columns.append((FeatureSpec("market_spread", "float", -40.0, 40.0), spread))
    columns += [
        (
            FeatureSpec("seconds_remaining", "int", 0.0, rules.regulation),
            rules.regulation - rows.clock,
        ),
        (
            FeatureSpec("score_diff", "int", -_SCORE_DIFF[key], _SCORE_DIFF[key]),
            rows.home - rows.away,
        ),
        (
            FeatureSpec("period", "int", 0.0, float(rules.periods)),
            np.where(rows.in_play > 0, period, 0),
        ),
    ]
    return columns
