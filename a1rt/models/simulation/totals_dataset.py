"""The NBA totals dataset: over/under at the market's total line, before the start.

Rows are stamped at the opening and at the third snapshot (4 h before tip-off); the line is the
market's line then. Scoring averages come only from games that had ended by the row's time.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from a1rt.models.dataset import Dataset, FeatureSpec

from ._types import FloatArray, IntArray
from .board import price_league
from .league import League
from .ratings import team_form
from .rows import assemble

SNAPSHOTS: Final = (0, 2)
OUTCOMES: Final = ("over", "under")


def totals_dataset(name: str, league: League) -> Dataset:
    """Over/under rows of a basketball league at the market's total line."""
    board = price_league(league)
    snapshots = np.asarray(SNAPSHOTS)
    game = np.repeat(np.arange(league.size), snapshots.size)
    snapshot = np.tile(snapshots, league.size)
    time = board.times[game, snapshot]
    line = board.totals.point[game, snapshot]
    form = team_form(league)
    home = form.at(league.schedule.home[game], time)
    away = form.at(league.schedule.away[game], time)
    market = board.totals.consensus()[game, snapshot]
    columns: list[tuple[FeatureSpec, FloatArray | IntArray]] = [
        (FeatureSpec("market_total", "float", 150.0, 300.0), line),
        (FeatureSpec("market_over_p", "float", 0.0, 1.0), market[:, 0]),
        (FeatureSpec("home_points_avg", "float", 70.0, 160.0), home[:, 1]),
        (FeatureSpec("home_allowed_avg", "float", 70.0, 160.0), home[:, 2]),
        (FeatureSpec("away_points_avg", "float", 70.0, 160.0), away[:, 1]),
        (FeatureSpec("away_allowed_avg", "float", 70.0, 160.0), away[:, 2]),
        (FeatureSpec("home_rest_days", "int", 0.0, 7.0), league.schedule.home_rest[game]),
        (FeatureSpec("away_rest_days", "int", 0.0, 7.0), league.schedule.away_rest[game]),
    ]
    total = league.results.home_score[game] + league.results.away_score[game]
    return assemble(
        name,
        OUTCOMES,
        columns,
        y=np.where(total > line, 0, 1).astype(np.int64),
        true_p=board.totals.true_p[game, snapshot],
        market_p=market,
        season=league.schedule.season[game],
        available_at=time,
        tiebreak=game * 8 + snapshot,
    )
