"""EPL games: Dixon-Coles final scores, with goals spread uniformly over the 90 minutes.

log(home rate) = base + home + attack(home) + defence(away) and log(away rate) = base +
attack(away) + defence(home); the low-score correction tau uses rho = -0.1, clipped per game so
every tau stays positive (betting-math §4.1; penaltyblog issue #7). Given the final score, goal
times are independent uniforms, so with h and a goals after a fraction f of the match the
posterior over the final score is P_DC(x, y) * Bin(h; x, f) * Bin(a; y, f): the in-play
probabilities are exact. There is no stoppage time and no extra time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Final

import numpy as np
from scipy.special import gammaln

from ._types import FloatArray, IntArray
from .games import Results
from .sports import RULES

REGULATION: Final = RULES["soccer_epl"].regulation
BASE: Final = float(np.log(1.2))  # log goals of an average away side
HOME: Final = 0.22  # the home term on the log scale
RHO: Final = -0.1
TIRED: Final = 0.05  # attack lost on two days' rest or less
MAX_GOALS: Final = 10
_GOALS: Final = np.arange(MAX_GOALS + 1)
_LOG_CHOOSE: Final = (
    gammaln(_GOALS + 1.0)[:, None] - gammaln(_GOALS + 1.0)[None, :]
    - gammaln(np.maximum(_GOALS[:, None] - _GOALS[None, :], 0) + 1.0)
)  # fmt: skip  # [x, h] = log C(x, h) for x >= h


@dataclass(frozen=True)
class SoccerGames:
    """Dixon-Coles parameters of EPL games: expected goals of each side and rho."""

    home_rate: FloatArray
    away_rate: FloatArray
    rho: FloatArray

    outcomes: ClassVar[tuple[str, ...]] = ("home", "draw", "away")
    spread_lines: ClassVar[FloatArray] = np.arange(-3.5, 4.0)
    total_lines: ClassVar[FloatArray] = np.arange(0.5, 7.0)

    @cached_property
    def score_pmf(self) -> FloatArray:
        """P(final score = x:y): shape (games, MAX_GOALS + 1, MAX_GOALS + 1), home goals first."""
        home = _poisson(self.home_rate)
        away = _poisson(self.away_rate)
        pmf = home[:, :, None] * away[:, None, :]
        lam, mu, rho = self.home_rate, self.away_rate, self.rho
        pmf[:, 0, 0] *= 1.0 - rho * lam * mu
        pmf[:, 0, 1] *= 1.0 + rho * lam
        pmf[:, 1, 0] *= 1.0 + rho * mu
        pmf[:, 1, 1] *= 1.0 - rho
        return np.asarray(pmf / pmf.sum(axis=(1, 2), keepdims=True), dtype=np.float64)

    def outcome_probs(
        self, game: IntArray, clock: FloatArray, home: IntArray, away: IntArray
    ) -> FloatArray:
        """True (P(home win), P(draw), P(away win)) with `clock` elapsed at that score."""
        played = np.clip(clock / REGULATION, 0.0, 1.0)
        posterior = (
            self.score_pmf[game]
            * _seen_by(home, played)[:, :, None]
            * _seen_by(away, played)[:, None, :]
        )
        posterior /= posterior.sum(axis=(1, 2), keepdims=True)
        margin = _GOALS[:, None] - _GOALS[None, :]
        return np.stack(
            [
                (posterior * (margin > 0)).sum(axis=(1, 2)),
                (posterior * (margin == 0)).sum(axis=(1, 2)),
                (posterior * (margin < 0)).sum(axis=(1, 2)),
            ],
            axis=1,
        )

    def cover_table(self) -> FloatArray:
        """P(home margin + handicap > 0) before the start, per game and spread line."""
        margin = _GOALS[:, None] - _GOALS[None, :]
        covers = margin[None, :, :, None] + self.spread_lines > 0
        return np.asarray((self.score_pmf[..., None] * covers).sum(axis=(1, 2)), dtype=np.float64)

    def over_table(self) -> FloatArray:
        """P(total goals > line) before the start, per game and total line."""
        total = _GOALS[:, None] + _GOALS[None, :]
        over = total[None, :, :, None] > self.total_lines
        return np.asarray((self.score_pmf[..., None] * over).sum(axis=(1, 2)), dtype=np.float64)


def _poisson(rate: FloatArray) -> FloatArray:
    log_pmf = _GOALS * np.log(rate)[:, None] - rate[:, None] - gammaln(_GOALS + 1.0)
    return np.asarray(np.exp(log_pmf), dtype=np.float64)


def _seen_by(goals: IntArray, played: FloatArray) -> FloatArray:
    """P(`goals` of x final goals scored after a fraction `played`), per final count x."""
    x = _GOALS[None, :]
    seen = goals[:, None]
    f = played[:, None]
    possible = x >= seen
    rest = np.where(possible, x - seen, 0)
    log_choose = _LOG_CHOOSE[_GOALS[None, :], np.clip(seen, 0, MAX_GOALS)]
    value = np.exp(log_choose) * f**seen * (1.0 - f) ** rest
    return np.where(possible, value, 0.0)


def soccer_games(
    home_strength: FloatArray,
    away_strength: FloatArray,
    home_rest: IntArray,
    away_rest: IntArray,
) -> SoccerGames:
    """Goal rates from each side's (attack, defence) and rest, with rho bounded per game."""
    home_attack = home_strength[:, 0] - TIRED * (home_rest <= 2)
    away_attack = away_strength[:, 0] - TIRED * (away_rest <= 2)
    lam = np.exp(BASE + HOME + home_attack + away_strength[:, 1])
    mu = np.exp(BASE + away_attack + home_strength[:, 1])
    low = -0.99 / np.maximum(lam, mu)  # keeps tau(0,1) and tau(1,0) positive
    high = np.minimum(0.99 / (lam * mu), 0.99)  # keeps tau(0,0) and tau(1,1) positive
    return SoccerGames(home_rate=lam, away_rate=mu, rho=np.clip(RHO, low, high))


def simulate_soccer(games: SoccerGames, rng: np.random.Generator) -> Results:
    """Draw final scores from Dixon-Coles, then a uniform time for every goal."""
    n = games.home_rate.size
    flat = games.score_pmf.reshape(n, -1).cumsum(axis=1)
    cell = (rng.random((n, 1)) * flat[:, -1:] > flat).sum(axis=1)
    home_goals, away_goals = np.divmod(np.minimum(cell, flat.shape[1] - 1), MAX_GOALS + 1)
    slots = 2 * MAX_GOALS
    index = np.arange(slots)[None, :]
    is_home = index < home_goals[:, None]
    scored = index < (home_goals + away_goals)[:, None]
    times = np.where(scored, rng.uniform(1.0, REGULATION, (n, slots)), np.inf)
    order = np.argsort(times, axis=1)
    clock = np.take_along_axis(times, order, axis=1)
    home_flag = np.take_along_axis(is_home & scored, order, axis=1)
    away_flag = np.take_along_axis(~is_home & scored, order, axis=1)
    home = np.cumsum(home_flag, axis=1).astype(np.int64)
    away = np.cumsum(away_flag, axis=1).astype(np.int64)
    return Results(
        home_score=home_goals.astype(np.int64),
        away_score=away_goals.astype(np.int64),
        duration=np.full(n, REGULATION),
        event_clock=clock,
        event_home=home,
        event_away=away,
    )
