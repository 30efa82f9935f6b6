"""NFL games: each side gets 10-12 drives, each ending in a touchdown, a field goal or nothing.

Scores are therefore built from 3s and 7s, so final margins pile up on 3 and 7 (then 14, 4,
10). Real margins cluster on multiples of 7 partly through late-game choices this model leaves
out; it gets the same shape by making field goals rarer (0.8 a game, not ~1.6). A game's drive
count and who receives first are drawn before kick-off but hidden from the pregame prices, which
mix over them; in play, the remaining drives of each side are known from the clock, so the win
probability is exact: the remaining points are independent convolutions of per-drive results.
A tie after regulation goes to an overtime coin flip: the winner (home or away with equal odds)
adds a field goal (60%) or a touchdown without the try (40%); no game ends level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Final

import numpy as np

from . import _distributions as dist
from ._types import BoolArray, FloatArray, IntArray
from .games import Results
from .sports import RULES

_RULES: Final = RULES["americanfootball_nfl"]
REGULATION: Final = _RULES.regulation
OVERTIME: Final = _RULES.overtime_seconds
DRIVE_COUNTS: Final = np.array([10, 11, 12])
DRIVE_WEIGHTS: Final = np.array([0.2, 0.6, 0.2])
DRIVE_POINTS: Final = np.array([0, 3, 6, 7, 8])
TOUCHDOWN: Final = 0.26  # of an average team's drives
FIELD_GOAL: Final = 0.07  # about half the real rate; see the module docstring
_TRY: Final = np.array([0.04, 0.94, 0.02])  # after a touchdown: missed kick, kick, two points
_DRIVE_POINTS_MEAN: Final = TOUCHDOWN * float(_TRY @ DRIVE_POINTS[2:]) + 3 * FIELD_GOAL
BASE_POINTS: Final = float(DRIVE_WEIGHTS @ DRIVE_COUNTS) * _DRIVE_POINTS_MEAN
HOME_ADVANTAGE: Final = 2.0  # points
SHORT_WEEK: Final = 1.0  # points a team loses on three days' rest or less
OVERTIME_FIELD_GOAL: Final = 0.6
_MAX_DRIVES: Final = int(DRIVE_COUNTS.max())
_GRID: Final = _MAX_DRIVES * 8 + 1
_OVERTIME_SHIFTS: Final = ((3, OVERTIME_FIELD_GOAL), (6, 1.0 - OVERTIME_FIELD_GOAL))


@dataclass(frozen=True)
class FootballGames:
    """Per-drive result probabilities of each side, drive counts and the opening possession."""

    home_drive: FloatArray  # (games, 5): P(drive scores 0, 3, 6, 7, 8) for the home side
    away_drive: FloatArray
    drives: IntArray  # drives per side
    home_first: BoolArray  # whether the home side has the first possession

    outcomes: ClassVar[tuple[str, ...]] = ("home", "away")
    spread_lines: ClassVar[FloatArray] = np.arange(-24.5, 25.0)
    total_lines: ClassVar[FloatArray] = np.arange(25.5, 71.0)

    @cached_property
    def home_pmfs(self) -> FloatArray:
        """PMF of the home side's points over k drives: shape (games, max drives + 1, points)."""
        return _drive_sums(self.home_drive)

    @cached_property
    def away_pmfs(self) -> FloatArray:
        """PMF of the away side's points over k drives."""
        return _drive_sums(self.away_drive)

    def remaining_drives(self, game: IntArray, clock: FloatArray) -> tuple[IntArray, IntArray]:
        """Drives each side still has (the one under way included) with `clock` elapsed."""
        count = self.drives[game]
        done = np.floor(np.minimum(clock, REGULATION) * 2 * count / REGULATION + 1e-9)
        done = np.minimum(done.astype(np.int64), 2 * count)
        home_done = np.where(self.home_first[game], (done + 1) // 2, done // 2)
        return count - home_done, count - (done - home_done)

    def outcome_probs(
        self, game: IntArray, clock: FloatArray, home: IntArray, away: IntArray
    ) -> FloatArray:
        """True (P(home wins), P(away wins)) with `clock` elapsed at that score.

        Before kick-off the drive count is still unknown, so the probability mixes over it.
        """
        lead = home - away
        win = np.zeros(game.size)
        started = clock > 0.0
        home_left, away_left = self.remaining_drives(game[started], clock[started])
        win[started] = self._win(game[started], home_left, away_left, lead[started])
        for count, weight in zip(DRIVE_COUNTS, DRIVE_WEIGHTS, strict=True):
            left = np.full(int((~started).sum()), count)
            win[~started] += weight * self._win(game[~started], left, left, lead[~started])
        win = np.clip(win, 0.0, 1.0)
        return np.stack([win, 1.0 - win], axis=1)

    def _win(
        self, game: IntArray, home_left: IntArray, away_left: IntArray, lead: IntArray
    ) -> FloatArray:
        """P(home wins) from a lead with these drives left, a tie settled by a fair coin."""
        home_pmf = self.home_pmfs[game, home_left]
        away_pmf = self.away_pmfs[game, away_left]
        needed = np.arange(_GRID)[None, :] - lead[:, None]  # home points that would draw level
        home_tail = dist.survival(home_pmf)
        rows = np.arange(game.size)[:, None]
        inside = np.clip(needed, 0, _GRID - 1)
        beyond = np.where(needed < 0, 1.0, np.where(needed >= _GRID, 0.0, home_tail[rows, inside]))
        exact = np.where((needed >= 0) & (needed < _GRID), home_pmf[rows, inside], 0.0)
        return np.asarray((away_pmf * (beyond + 0.5 * exact)).sum(axis=1), dtype=np.float64)

    def cover_table(self) -> FloatArray:
        """P(home margin + handicap > 0) before the start, per game and spread line."""
        margin = np.zeros((self.drives.size, 2 * _GRID - 1))
        for count, weight in zip(DRIVE_COUNTS, DRIVE_WEIGHTS, strict=True):
            margin += weight * dist.difference(self.home_pmfs[:, count], self.away_pmfs[:, count])
        zero = _GRID - 1
        level = margin[:, zero].copy()
        margin[:, zero] = 0.0
        for points, share in _OVERTIME_SHIFTS:
            margin[:, zero + points] += 0.5 * share * level
            margin[:, zero - points] += 0.5 * share * level
        return dist.survival_at(margin, -zero, -self.spread_lines)

    def over_table(self) -> FloatArray:
        """P(total points > line) before the start, per game and total line."""
        size = 2 * _GRID + 6
        total = np.zeros((self.drives.size, size))
        level = np.zeros((self.drives.size, size))
        for count, weight in zip(DRIVE_COUNTS, DRIVE_WEIGHTS, strict=True):
            home, away = self.home_pmfs[:, count], self.away_pmfs[:, count]
            total += weight * dist.convolve(home, away, size)
            level += weight * dist.doubled(home * away, size)
        total -= level
        for points, share in _OVERTIME_SHIFTS:
            total[:, points:] += share * level[:, :-points]
        return dist.survival_at(total, 0, self.total_lines)


def _drive_sums(drive: FloatArray) -> FloatArray:
    out = np.zeros((drive.shape[0], _MAX_DRIVES + 1, _GRID))
    out[:, 0, 0] = 1.0
    for k in range(_MAX_DRIVES):
        for outcome, points in enumerate(DRIVE_POINTS):
            out[:, k + 1, points:] += drive[:, outcome, None] * out[:, k, : _GRID - points]
    return out


def _drive_probabilities(points: FloatArray) -> FloatArray:
    """Per-drive result probabilities of sides expected to score `points` in an average game."""
    scale = np.clip(points / BASE_POINTS, 0.2, 2.2)
    touchdown = TOUCHDOWN * scale
    field_goal = FIELD_GOAL * scale
    scored = np.stack([field_goal, *(touchdown * share for share in _TRY)], axis=1)
    return np.concatenate([1.0 - scored.sum(axis=1, keepdims=True), scored], axis=1)


def football_games(
    home_strength: FloatArray,
    away_strength: FloatArray,
    home_rest: IntArray,
    away_rest: IntArray,
    rng: np.random.Generator,
) -> FootballGames:
    """Drive probabilities from each side's (net rating, scoring tendency) and rest."""
    margin = home_strength[:, 0] - away_strength[:, 0] + HOME_ADVANTAGE
    margin += SHORT_WEEK * ((away_rest <= 3).astype(float) - (home_rest <= 3))
    total = 2.0 * BASE_POINTS + home_strength[:, 1] + away_strength[:, 1]
    n = margin.size
    return FootballGames(
        home_drive=_drive_probabilities((total + margin) / 2.0),
        away_drive=_drive_probabilities((total - margin) / 2.0),
        drives=rng.choice(DRIVE_COUNTS, size=n, p=DRIVE_WEIGHTS).astype(np.int64),
        home_first=rng.random(n) < 0.5,
    )


def simulate_football(games: FootballGames, rng: np.random.Generator) -> Results:
    """Play every drive, then settle regulation ties by the overtime coin flip."""
    n = games.drives.size
    slots = 2 * _MAX_DRIVES
    j = np.arange(slots)[None, :]
    count = games.drives[:, None]
    clock = np.where(j < 2 * count, (j + 1) * REGULATION / (2 * count), np.inf)
    home_owns = (j % 2 == 0) == games.home_first[:, None]
    drive = np.where(home_owns[..., None], games.home_drive[:, None], games.away_drive[:, None])
    result = (rng.random((n, slots, 1)) > np.cumsum(drive, axis=2)).sum(axis=2)
    points = np.where(np.isfinite(clock), DRIVE_POINTS[np.minimum(result, 4)], 0)
    home_pts = np.where(home_owns, points, 0)
    away_pts = np.where(home_owns, 0, points)
    level = home_pts.sum(axis=1) == away_pts.sum(axis=1)
    home_wins = rng.random(n) < 0.5
    extra = np.where(rng.random(n) < OVERTIME_FIELD_GOAL, 3, 6)
    ot_clock = np.where(level, REGULATION + OVERTIME * rng.uniform(0.05, 1.0, n), np.inf)
    clock = np.concatenate([clock, ot_clock[:, None]], axis=1)
    home_pts = np.concatenate([home_pts, (level & home_wins)[:, None] * extra[:, None]], axis=1)
    away_pts = np.concatenate([away_pts, (level & ~home_wins)[:, None] * extra[:, None]], axis=1)
    order = np.argsort(clock, axis=1, kind="stable")  # the overtime event follows the last drive
    clock = np.take_along_axis(clock, order, axis=1)
    home = np.cumsum(np.take_along_axis(home_pts, order, axis=1), axis=1)
    away = np.cumsum(np.take_along_axis(away_pts, order, axis=1), axis=1)
    return Results(
        home_score=home[:, -1],
        away_score=away[:, -1],
        duration=np.where(level, ot_clock, REGULATION),
        event_clock=clock,
        event_home=home,
        event_away=away,
    )
