"""NBA player props: over/under lines on points, rebounds and assists, from posting to the close.

As for game lines, the market shares an error about each player's game that shrinks toward the
start; the line sits at the half point where the market's belief in the over is nearest even,
and each book prices over/under around its own belief.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.stats import nbinom

from ._exceptions import SimulationError
from ._types import FloatArray
from .board import noise_path, opening_shares
from .books import BOOKS, beliefs, book_noise, quote
from .games import concat, take
from .league import League
from .players import DISPERSION, PlayerGames
from .streams import Purpose, stream

_HOUR: Final = 3600.0
PROP_OFFSETS: Final = (8 * _HOUR, 2 * _HOUR, 0.0)  # seconds before the start; posting first
PROP_NOISE: Final = (0.30, 0.12)  # the market's shared log-odds error at posting and close


@dataclass(frozen=True)
class PropBoard:
    """Prop prices: (games, snapshots, side (home, away), role, stat[, books], (over, under))."""

    times: FloatArray  # (games, snapshots)
    line: FloatArray  # (games, snapshots, side, role, stat)
    true_p: FloatArray  # (..., 2): true P(over), P(under) at the line
    odds: FloatArray  # (games, snapshots, books, side, role, stat, 2)
    fair: FloatArray  # each book's prices devigged

    def consensus(self) -> FloatArray:
        """The devigged consensus (over, under): shape (games, snapshots, side, role, stat, 2)."""
        return np.asarray(self.fair.mean(axis=2), dtype=np.float64)


def price_props(league: League) -> PropBoard:
    """Price every props player's three stats in every game (one random stream per season)."""
    players = league.players
    if players is None:
        raise SimulationError(f"{league.sport} has no player props")
    parts = []
    for season in np.unique(league.schedule.season):
        games = np.flatnonzero(league.schedule.season == season)
        rng = stream(league.seed, league.sport, int(season), Purpose.PROPS)
        parts.append(_price_season(rng, league.schedule.start[games], take(players, games)))
    return concat(parts)


def _price_season(rng: np.random.Generator, start: FloatArray, players: PlayerGames) -> PropBoard:
    shares = opening_shares(PROP_OFFSETS)
    opening, closing = PROP_NOISE
    market_sd = closing + (opening - closing) * np.sqrt(shares)
    error = noise_path(rng, players.mean.shape, market_sd)  # log-odds error on the over
    error = np.moveaxis(error, -1, 1)  # (games, snapshots, side, role, stat)
    line, over = _place_lines(players, error)
    true_p = np.stack([over, 1.0 - over], axis=-1)
    shared = np.stack([error, np.zeros_like(error)], axis=-1)
    odds, fair = [], []
    for book in BOOKS:
        own = np.moveaxis(noise_path(rng, players.mean.shape, book_noise(book, shares)), -1, 1)
        belief = beliefs(true_p, shared + np.stack([own, np.zeros_like(own)], axis=-1))
        prices, devigged = quote(book, belief)
        odds.append(prices)
        fair.append(devigged)
    return PropBoard(
        times=start[:, None] - np.asarray(PROP_OFFSETS),
        line=line,
        true_p=true_p,
        odds=np.stack(odds, axis=2),
        fair=np.stack(fair, axis=2),
    )


def _place_lines(players: PlayerGames, error: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The half-point line whose true P(over) is nearest sigmoid(-error), and that P(over)."""
    target = 1.0 / (1.0 + np.exp(error))
    mean = np.broadcast_to(players.mean[:, None], error.shape)
    size = np.broadcast_to(DISPERSION, error.shape)
    p = size / (size + mean)
    median = nbinom.ppf(1.0 - target, size, p)  # P(X <= median) >= 1 - target
    below, above = median - 0.5, median + 0.5
    over_below = nbinom.sf(np.floor(below), size, p)
    over_above = nbinom.sf(median, size, p)
    use_below = (np.abs(over_below - target) < np.abs(over_above - target)) & (below > 0)
    line = np.where(use_below, below, above)
    return line, np.where(use_below, over_below, over_above)
