"""Pregame prices of every game at every book, from the opening to the close.

The market shares one error about each game (log-odds, AR(1) across snapshots) that shrinks as
the start nears, so prices drift toward the truth; each book adds its own smaller error. Spread
and total lines are set where the market's belief is closest to even, so the line carries the
market's error and the prices around it stay near 50/50.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from ._types import FloatArray
from .books import BOOKS, Book, beliefs, book_noise, quote
from .games import concat
from .league import League
from .sports import Sport
from .streams import Purpose, stream

# The market's shared log-odds error at the opening and at the close, per sport.
MARKET_NOISE: Final[dict[Sport, tuple[float, float]]] = {
    "basketball_nba": (0.30, 0.10),
    "americanfootball_nfl": (0.30, 0.10),
    "soccer_epl": (0.25, 0.08),
}
_SNAPSHOT_CORRELATION: Final = 0.7


@dataclass(frozen=True)
class MarketPrices:
    """One market (h2h, spreads or totals) of every game: (games, snapshots[, books], outcomes)."""

    point: FloatArray  # (games, snapshots): home handicap or total line; NaN for h2h
    true_p: FloatArray  # (games, snapshots, outcomes): true probability at that point
    odds: FloatArray  # (games, snapshots, books, outcomes): decimal prices
    fair: FloatArray  # each book's prices devigged

    def consensus(self) -> FloatArray:
        """The devigged consensus: the mean of the books' devigged prices."""
        return np.asarray(self.fair.mean(axis=2), dtype=np.float64)


@dataclass(frozen=True)
class MarketBoard:
    """Pregame prices of every game, book and market at each snapshot before the start."""

    times: FloatArray  # (games, snapshots): epoch seconds of each snapshot, the close last
    h2h: MarketPrices
    spreads: MarketPrices  # outcomes (home covers, away covers)
    totals: MarketPrices  # outcomes (over, under)
    books: tuple[Book, ...] = BOOKS


def price_league(league: League) -> MarketBoard:
    """Price every game of a league at every pregame snapshot (one random stream per season)."""
    seasons = np.unique(league.schedule.season)
    parts = [
        _price_season(league.select(np.flatnonzero(league.schedule.season == s)), int(s))
        for s in seasons
    ]
    return MarketBoard(
        times=np.concatenate([p.times for p in parts]),
        h2h=concat([p.h2h for p in parts]),
        spreads=concat([p.spreads for p in parts]),
        totals=concat([p.totals for p in parts]),
    )


def noise_path(rng: np.random.Generator, shape: tuple[int, ...], sd: FloatArray) -> FloatArray:
    """AR(1) noise over the last axis (snapshots) with standard deviation `sd` at each one."""
    steps = sd.shape[-1]
    z = rng.normal(size=shape + (steps,))
    for k in range(1, steps):
        z[..., k] = (
            _SNAPSHOT_CORRELATION * z[..., k - 1]
            + np.sqrt(1 - _SNAPSHOT_CORRELATION**2) * z[..., k]
        )
    return np.asarray(z * sd, dtype=np.float64)


def opening_shares(offsets: tuple[float, ...]) -> FloatArray:
    """How far back toward the opening each snapshot is: 1 at the opening, 0 at the close."""
    values = np.asarray(offsets, dtype=np.float64)
    return np.asarray(values / values[0], dtype=np.float64)


def _price_season(league: League, season: int) -> MarketBoard:
    rules = league.rules
    rng = stream(league.seed, league.sport, season, Purpose.MARKET)
    shares = opening_shares(rules.market_offsets)
    opening, closing = MARKET_NOISE[rules.key]
    market_sd = closing + (opening - closing) * np.sqrt(shares)
    n, k = league.size, len(league.games.outcomes)
    times = league.schedule.start[:, None] - np.asarray(rules.market_offsets)
    pregame = league.games.outcome_probs(
        np.arange(n), np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    )
    h2h_true = np.broadcast_to(pregame[:, None, :], (n, shares.size, k))
    # One log-odds error per outcome (SD sd / sqrt 2 each, so two-way log-odds get SD sd).
    h2h_shared = np.moveaxis(noise_path(rng, (n, k), market_sd / np.sqrt(2)), -1, 1)
    h2h = _books_quote(rng, h2h_true, h2h_shared, shares, np.full((n, shares.size), np.nan))
    spreads = _line_market(
        rng, league.games.cover_table(), league.games.spread_lines, market_sd, shares
    )
    totals = _line_market(
        rng, league.games.over_table(), league.games.total_lines, market_sd, shares
    )
    return MarketBoard(times=times, h2h=h2h, spreads=spreads, totals=totals)


def _line_market(
    rng: np.random.Generator,
    table: FloatArray,
    lines: FloatArray,
    market_sd: FloatArray,
    shares: FloatArray,
) -> MarketPrices:
    """Place each snapshot's line where the market's belief is nearest even, then price it."""
    error = noise_path(rng, (table.shape[0],), market_sd)  # log-odds error on the first side
    target = 1.0 / (1.0 + np.exp(error))  # true P(first side) where the belief is 0.5
    choice = np.abs(table[:, None, :] - target[..., None]).argmin(axis=2)
    first = np.take_along_axis(table, choice, axis=1)
    true_p = np.stack([first, 1.0 - first], axis=-1)
    shared = np.stack([error, np.zeros_like(error)], axis=-1)
    return _books_quote(rng, true_p, shared, shares, lines[choice])


def _books_quote(
    rng: np.random.Generator,
    true_p: FloatArray,
    shared: FloatArray,
    shares: FloatArray,
    point: FloatArray,
) -> MarketPrices:
    """Every book's prices around the market's belief, adding its own AR(1) error."""
    n, k = true_p.shape[0], true_p.shape[-1]
    odds, fair = [], []
    for book in BOOKS:
        own = noise_path(rng, (n, k), book_noise(book, shares) / np.sqrt(2))
        belief = beliefs(true_p, shared + np.moveaxis(own, -1, 1))
        prices, devigged = quote(book, belief)
        odds.append(prices)
        fair.append(devigged)
    return MarketPrices(
        point=np.asarray(point, dtype=np.float64),
        true_p=np.ascontiguousarray(true_p),
        odds=np.stack(odds, axis=2),
        fair=np.stack(fair, axis=2),
    )
