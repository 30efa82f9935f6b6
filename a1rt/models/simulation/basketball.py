"""NBA games: points as Poisson streams, minute by minute, with a pace both teams share.

Each clock second the home side scores Poisson(home_rate) points of its own, the away side
Poisson(away_rate), and both score a shared Poisson(shared_rate) (fast games are high scoring
for both). So the margin is Skellam: with the default rates a margin SD of 12.1 points around
the spread, a team score SD of ~10.6 and a score correlation of 0.35 (betting-math §4.1).
Because increments are independent, the remaining margin from any state is Skellam too, which
makes the in-play win probability exact. Ties after 48 minutes go to 5-minute overtimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Final

import numpy as np
from scipy.stats import skellam

from . import _distributions as dist
from ._types import ComplexArray, FloatArray, IntArray
from .games import Results
from .sports import RULES

_RULES: Final = RULES["basketball_nba"]
REGULATION: Final = _RULES.regulation
OVERTIME: Final = _RULES.overtime_seconds
HOME_ADVANTAGE: Final = 2.6  # points
LEAGUE_TOTAL: Final = 225.0  # points in an average game
SHARED_SHARE: Final = 0.35  # of each team's points that come from the shared pace stream
BACK_TO_BACK: Final = 1.5  # points a team loses playing on no rest
_MINUTE: Final = 60.0
_GRID: Final = 256  # points per team per regulation the PMFs cover
_TOTAL_GRID: Final = 512


@dataclass(frozen=True)
class BasketballGames:
    """The scoring rates of NBA games, in points per clock second."""

    home_rate: FloatArray  # points only the home side scores
    away_rate: FloatArray
    shared_rate: FloatArray  # points each side scores from the shared pace

    outcomes: ClassVar[tuple[str, ...]] = ("home", "away")
    spread_lines: ClassVar[FloatArray] = np.arange(-30.5, 31.0)
    total_lines: ClassVar[FloatArray] = np.arange(170.5, 290.0)

    def expected_points(self) -> FloatArray:
        """Each side's expected regulation points: shape (games, 2), home first."""
        own = np.stack([self.home_rate, self.away_rate], axis=1)
        return (own + self.shared_rate[:, None]) * REGULATION

    @cached_property
    def overtime_win(self) -> FloatArray:
        """P(home wins) once regulation ends level, over as many overtimes as it takes."""
        home, away = self.home_rate * OVERTIME, self.away_rate * OVERTIME
        return skellam.sf(0, home, away) / (1.0 - skellam.pmf(0, home, away))  # type: ignore[no-any-return]

    def outcome_probs(
        self, game: IntArray, clock: FloatArray, home: IntArray, away: IntArray
    ) -> FloatArray:
        """True (P(home wins), P(away wins)) with `clock` elapsed at that score."""
        lead = (home - away).astype(np.float64)
        ends = np.where(
            clock <= REGULATION,
            REGULATION,
            REGULATION + np.ceil((clock - REGULATION) / OVERTIME - 1e-9) * OVERTIME,
        )
        left = np.maximum(ends - clock, 0.0)
        ahead, level = _skellam_tails(
            -lead, self.home_rate[game] * left, self.away_rate[game] * left
        )
        win = np.clip(ahead + level * self.overtime_win[game], 0.0, 1.0)
        return np.stack([win, 1.0 - win], axis=1)

    def cover_table(self) -> FloatArray:
        """P(home margin + handicap > 0) before the start, per game and spread line."""
        margin = self._final_margin_pmf()
        return dist.survival_at(margin, -(_GRID - 1), -self.spread_lines)

    def over_table(self) -> FloatArray:
        """P(total points > line) before the start, per game and total line."""
        return dist.survival_at(self._final_total_pmf(), 0, self.total_lines)

    def _period_pmfs(self, seconds: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        return (
            dist.poisson_grid(self.home_rate * seconds, _GRID),
            dist.poisson_grid(self.away_rate * seconds, _GRID),
            dist.poisson_grid(self.shared_rate * seconds, _GRID),
        )

    def _final_margin_pmf(self) -> FloatArray:
        home, away, _ = self._period_pmfs(REGULATION)
        regulation = dist.difference(home, away)
        home_ot, away_ot, _ = self._period_pmfs(OVERTIME)
        overtime = dist.difference(home_ot, away_ot)
        zero = _GRID - 1
        level, level_ot = regulation[:, zero].copy(), overtime[:, zero].copy()
        regulation[:, zero] = 0.0
        overtime[:, zero] = 0.0
        return regulation + (level / (1.0 - level_ot))[:, None] * overtime

    def _final_total_pmf(self) -> FloatArray:
        """Regulation total, plus the overtime chain's points when regulation ends level."""
        total, level = self._total_spectra(REGULATION)
        total_ot, level_ot = self._total_spectra(OVERTIME)
        # Overtime points Z: an overtime that ends with a leader, or a level one and then Z again.
        chain = (total_ot - level_ot) / (1.0 - level_ot)
        pmf = np.fft.irfft(total - level + level * chain, _TOTAL_GRID)
        return np.maximum(pmf, 0.0)

    def _total_spectra(self, seconds: float) -> tuple[ComplexArray, ComplexArray]:
        """Spectra of a period's total points, and of its part where the period ends level.

        The total is home-only + away-only + twice the shared points; level means equal
        own points x, so the total is then 2x + 2 * shared.
        """
        home, away, shared = self._period_pmfs(seconds)
        spectrum = np.fft.rfft
        shared_both = spectrum(dist.doubled(shared, _TOTAL_GRID))
        total = spectrum(home, _TOTAL_GRID) * spectrum(away, _TOTAL_GRID) * shared_both
        level = spectrum(dist.doubled(home * away, _TOTAL_GRID)) * shared_both
        return total, level


def _skellam_tails(
    threshold: FloatArray, home_mean: FloatArray, away_mean: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """P(S > threshold) and P(S = threshold) for S ~ Skellam; S = 0 where both means are 0."""
    played = (home_mean > 0.0) | (away_mean > 0.0)
    safe_home = np.where(played, home_mean, 1.0)
    safe_away = np.where(played, away_mean, 1.0)
    above = np.where(played, skellam.sf(threshold, safe_home, safe_away), threshold < 0)
    equal = np.where(played, skellam.pmf(threshold, safe_home, safe_away), threshold == 0)
    return above.astype(np.float64), equal.astype(np.float64)


def basketball_games(
    home_strength: FloatArray,
    away_strength: FloatArray,
    home_rest: IntArray,
    away_rest: IntArray,
) -> BasketballGames:
    """Scoring rates from each side's (net rating, scoring tendency) and rest."""
    margin = home_strength[:, 0] - away_strength[:, 0] + HOME_ADVANTAGE
    margin += BACK_TO_BACK * ((away_rest == 0).astype(float) - (home_rest == 0))
    total = LEAGUE_TOTAL + home_strength[:, 1] + away_strength[:, 1]
    shared = SHARED_SHARE * total / 2.0
    home_own = np.maximum(total / 2.0 - shared + margin / 2.0, 5.0)
    away_own = np.maximum(total / 2.0 - shared - margin / 2.0, 5.0)
    return BasketballGames(
        home_rate=home_own / REGULATION,
        away_rate=away_own / REGULATION,
        shared_rate=shared / REGULATION,
    )


def simulate_basketball(games: BasketballGames, rng: np.random.Generator) -> Results:
    """Play every game minute by minute, with overtimes until someone leads."""
    n = games.home_rate.size
    minutes = int(REGULATION // _MINUTE)
    ot_minutes = int(OVERTIME // _MINUTE)
    steps = minutes + ot_minutes * _RULES.max_overtimes
    clock = np.full((n, steps), np.inf)
    home_pts = np.zeros((n, steps), dtype=np.int64)
    away_pts = np.zeros((n, steps), dtype=np.int64)
    _play(games, rng, np.ones(n, dtype=bool), slice(0, minutes), clock, home_pts, away_pts, 0.0)
    for overtime in range(_RULES.max_overtimes):
        level = home_pts.sum(axis=1) == away_pts.sum(axis=1)
        if not level.any():
            break
        window = slice(minutes + overtime * ot_minutes, minutes + (overtime + 1) * ot_minutes)
        _play(
            games, rng, level, window, clock, home_pts, away_pts, REGULATION + overtime * OVERTIME
        )
    _settle_endless_ties(rng, clock, home_pts, away_pts)
    home = np.cumsum(home_pts, axis=1)
    away = np.cumsum(away_pts, axis=1)
    played = np.isfinite(clock)
    duration = np.where(played, clock, 0.0).max(axis=1)
    return Results(
        home_score=home[:, -1],
        away_score=away[:, -1],
        duration=duration,
        event_clock=clock,
        event_home=home,
        event_away=away,
    )


def _play(
    games: BasketballGames,
    rng: np.random.Generator,
    who: IntArray | np.ndarray,
    window: slice,
    clock: FloatArray,
    home_pts: IntArray,
    away_pts: IntArray,
    offset: float,
) -> None:
    """Play the minutes in `window` for the games where `who` is true."""
    rows = np.flatnonzero(who)
    count = window.stop - window.start
    shared = rng.poisson(games.shared_rate[rows, None] * _MINUTE, (rows.size, count))
    home_pts[rows, window] = (
        rng.poisson(games.home_rate[rows, None] * _MINUTE, (rows.size, count)) + shared
    )
    away_pts[rows, window] = (
        rng.poisson(games.away_rate[rows, None] * _MINUTE, (rows.size, count)) + shared
    )
    clock[rows, window] = offset + _MINUTE * np.arange(1, count + 1)


def _settle_endless_ties(
    rng: np.random.Generator, clock: FloatArray, home_pts: IntArray, away_pts: IntArray
) -> None:
    """After the last simulated overtime (odds ~1e-8) a still-level game goes to a coin flip."""
    level = np.flatnonzero(home_pts.sum(axis=1) == away_pts.sum(axis=1))
    home_wins = rng.random(level.size) < 0.5
    home_pts[level[home_wins], -1] += 1
    away_pts[level[~home_wins], -1] += 1
