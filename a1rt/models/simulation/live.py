"""In-play: the state of a game at a live step, its true probabilities, and the books' h2h prices.

Books reprice h2h every `live_step` clock seconds (3 minutes in the NBA, 5 in the NFL and EPL)
around the true in-play probability, with a fresh shared log-odds error (as large as the close's)
and their own on each step. Spreads and totals are not offered in play.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from ._types import BoolArray, FloatArray, IntArray
from .board import MARKET_NOISE
from .books import BOOKS, beliefs, quote
from .games import concat
from .league import League
from .sports import GameStatus, Sport
from .streams import Purpose, stream

# The live market's shared log-odds error: as informed as the pregame close (betting-math §3:
# a model fed the close and the score must not look sharper than the live prices).
LIVE_NOISE: Final[dict[Sport, float]] = {sport: noise[1] for sport, noise in MARKET_NOISE.items()}


@dataclass(frozen=True)
class LiveNoise:
    """The log-odds errors of in-play prices: (games, live steps[, books], outcomes)."""

    shared: FloatArray
    own: FloatArray


@dataclass(frozen=True)
class LiveState:
    """Games at one live step each: the clock, the score and the true outcome probabilities."""

    clock: FloatArray
    home: IntArray
    away: IntArray
    true_p: FloatArray
    final: BoolArray


def live_noise(league: League) -> LiveNoise:
    """The in-play price errors of every game and live step (one random stream per season)."""
    parts = []
    for season in np.unique(league.schedule.season):
        count = int((league.schedule.season == season).sum())
        rng = stream(league.seed, league.sport, int(season), Purpose.LIVE)
        parts.append(_season_noise(rng, league, count))
    return concat(parts)


def live_state(league: League, game: IntArray, clock: FloatArray) -> LiveState:
    """Where each game stands with `clock` elapsed, and its true outcome probabilities."""
    clock = np.minimum(clock, league.results.duration[game])
    home, away = league.results.score_at(game, clock)
    true_p = league.games.outcome_probs(game, clock, home, away)
    final = clock >= league.results.duration[game]
    return LiveState(clock=clock, home=home, away=away, true_p=true_p, final=final)


@dataclass(frozen=True)
class GameSnapshots:
    """One game at each live step from the start to the end: the period-by-period view."""

    clock: FloatArray  # elapsed game clock
    period: IntArray
    period_clock: FloatArray  # seconds left in the period
    seconds_remaining: FloatArray  # regulation seconds left (0 in overtime)
    status: tuple[GameStatus, ...]  # in progress until the last snapshot, which is final
    home: IntArray
    away: IntArray
    true_p: FloatArray  # (snapshots, outcomes)


def game_snapshots(league: League, game: int) -> GameSnapshots:
    """A game's score, clock and true probabilities at each live step and at the end."""
    duration = float(league.results.duration[game])
    grid = league.rules.live_grid()
    clock = np.append(grid[grid < duration], duration)
    state = live_state(league, np.full(clock.size, game), clock)
    period, left = league.rules.period_clock(clock)
    status: tuple[GameStatus, ...] = tuple("final" if f else "in_progress" for f in state.final)
    return GameSnapshots(
        clock=clock,
        period=period,
        period_clock=left,
        seconds_remaining=np.maximum(league.rules.regulation - clock, 0.0),
        status=status,
        home=state.home,
        away=state.away,
        true_p=state.true_p,
    )


def live_quotes(
    true_p: FloatArray, shared: FloatArray, own: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Every book's in-play prices and their devigged values: shapes (rows, books, outcomes)."""
    odds, fair = [], []
    for index, book in enumerate(BOOKS):
        prices, devigged = quote(book, beliefs(true_p, shared + own[:, index]))
        odds.append(prices)
        fair.append(devigged)
    return np.stack(odds, axis=1), np.stack(fair, axis=1)


def step_of(league: League, clock: FloatArray) -> IntArray:
    """The live step in force with `clock` elapsed (the last one at or before it)."""
    grid = league.rules.live_grid()
    return np.asarray(np.searchsorted(grid, clock + 1e-6, side="right") - 1, dtype=np.int64)


def _season_noise(rng: np.random.Generator, league: League, count: int) -> LiveNoise:
    steps = league.rules.live_grid().size
    outcomes = len(league.games.outcomes)
    sd = LIVE_NOISE[league.rules.key] / np.sqrt(2)
    own_sd = np.array([book.noise_close for book in BOOKS])[:, None] / np.sqrt(2)
    return LiveNoise(
        shared=rng.normal(0.0, sd, (count, steps, outcomes)),
        own=rng.normal(size=(count, steps, len(BOOKS), outcomes)) * own_sd,
    )
