"""Sportsbooks: who they are, how wide their margins are, and how they turn beliefs into prices.

A book's belief is the true probability with noise added in log-odds space (its own noise plus
the market's shared error). It quotes the belief in steps of 1/1000 (two-way) or 1/100
(three-way) probability, about as fine as real price ladders, and prices it with
`a1rt.betting.apply_margin`; consumers devig with `a1rt.betting.devig` by the same method and
recover the quoted belief. Those functions price one market per call, so each distinct quote
is priced once and remembered: bulk simulation then costs one call per distinct quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from a1rt.betting import Method, apply_margin, devig

from ._types import FloatArray, IntArray

PROBABILITY_FLOOR: Final = 0.01  # books cap prices near certainty (decimal odds up to ~95)
_STEPS: Final[dict[int, int]] = {2: 1000, 3: 100}


@dataclass(frozen=True)
class Book:
    """A sportsbook: its margin, how it spreads it, and how noisy its view of the truth is."""

    key: str
    title: str
    margin: float  # booksum - 1
    method: Method  # how the margin is spread over the outcomes
    noise_open: float  # log-odds SD of its own error at the opening
    noise_close: float  # ... and at the close
    sharp: bool = False


BOOKS: Final[tuple[Book, ...]] = (
    Book("pinnacle", "Pinnacle", 0.025, "power", 0.04, 0.02, sharp=True),
    Book("draftkings", "DraftKings", 0.050, "power", 0.14, 0.07),
    Book("fanduel", "FanDuel", 0.055, "power", 0.12, 0.06),
    Book("betmgm", "BetMGM", 0.065, "power", 0.16, 0.08),
    Book("caesars", "Caesars", 0.075, "power", 0.15, 0.08),
)


def book_noise(book: Book, share_of_opening: FloatArray) -> FloatArray:
    """The book's own log-odds noise SD at snapshots `share_of_opening` of the way to the start."""
    return book.noise_close + (book.noise_open - book.noise_close) * np.sqrt(share_of_opening)


def beliefs(true_p: FloatArray, log_odds_noise: FloatArray) -> FloatArray:
    """Probabilities with noise added to each outcome's log-probability, renormalised.

    For two outcomes, noise e on the first and 0 on the second shifts the log-odds by e.
    """
    logits = np.log(np.clip(true_p, 1e-12, 1.0)) + log_odds_noise
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return np.asarray(weights / weights.sum(axis=-1, keepdims=True), dtype=np.float64)


def quote(book: Book, belief: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The book's decimal prices for each market (last axis: outcomes) and their devigged values."""
    outcomes = belief.shape[-1]
    steps = _STEPS[outcomes]
    units = _quantise(belief.reshape(-1, outcomes), steps)
    codes = units @ (steps + 1) ** np.arange(outcomes - 1, -1, -1)  # one integer per quote
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    distinct = units[first]
    priced = np.array([_price(book.margin, book.method, tuple(row.tolist())) for row in distinct])
    out = priced[inverse.ravel()].reshape(belief.shape[:-1] + (2, outcomes))
    return out[..., 0, :], out[..., 1, :]


def _quantise(belief: FloatArray, steps: int) -> IntArray:
    """Beliefs as whole steps that sum to `steps`, none below PROBABILITY_FLOOR."""
    clipped = np.clip(belief, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    clipped /= clipped.sum(axis=1, keepdims=True)
    edges = np.rint(np.cumsum(clipped, axis=1) * steps).astype(np.int64)
    edges[:, -1] = steps
    units = np.diff(edges, prepend=0, axis=1)
    floor = int(PROBABILITY_FLOOR * steps) // 2
    return np.asarray(np.maximum(units, floor), dtype=np.int64)


@lru_cache(maxsize=1 << 18)
def _price(margin: float, method: Method, units: tuple[int, ...]) -> tuple[tuple[float, ...], ...]:
    """(prices, devigged prices) of one quoted belief; memoised, as beliefs repeat in steps."""
    belief = np.asarray(units, dtype=np.float64)
    belief /= belief.sum()
    odds = apply_margin(belief, margin, method)
    return tuple(odds.tolist()), tuple(devig(odds, method).tolist())
