"""The three simulated sports: their keys, game clocks, periods and market timetables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np

from ._exceptions import UnknownSportError
from ._types import FloatArray, IntArray

Sport = Literal["basketball_nba", "americanfootball_nfl", "soccer_epl"]
GameStatus = Literal["scheduled", "in_progress", "final"]
SPORTS: Final[tuple[Sport, ...]] = get_args(Sport)

_HOUR = 3600.0
_DAY = 86400.0


@dataclass(frozen=True)
class SportRules:
    """How one sport's game clock runs and when its books price a game."""

    key: Sport
    code: int  # distinguishes the sport's random streams
    periods: int
    period_seconds: float
    overtime_seconds: float  # one overtime period; 0 when drawn games stay drawn
    max_overtimes: int
    clock_scale: float  # wall seconds per clock second while play runs
    halftime_seconds: float  # wall-clock break after half the regulation clock
    live_step: float  # clock seconds between in-play price updates
    market_offsets: tuple[float, ...]  # seconds before the start; opening first, close (0) last
    season_month_day: tuple[int, int]  # the first game day of a real season
    season_weekday: int  # the weekday (Monday 0) that day falls on; -1 when any will do

    @property
    def regulation(self) -> float:
        """Clock seconds of a game without overtime."""
        return self.periods * self.period_seconds

    def wall_offset(self, clock: FloatArray) -> FloatArray:
        """Wall seconds after the start at which the game clock shows `clock` elapsed."""
        half = self.regulation / 2.0
        return clock * self.clock_scale + np.where(clock > half, self.halftime_seconds, 0.0)

    def clock_at(self, offset: FloatArray) -> FloatArray:
        """Elapsed game clock `offset` wall seconds after the start (the inverse of wall_offset)."""
        half = self.regulation / 2.0
        half_wall = half * self.clock_scale
        after = (offset - self.halftime_seconds) / self.clock_scale
        clock = np.where(offset <= half_wall, offset / self.clock_scale, np.maximum(after, half))
        return np.maximum(clock, 0.0)

    def period_clock(self, clock: FloatArray) -> tuple[IntArray, FloatArray]:
        """The period (1-based) of each elapsed clock and the seconds left in it."""
        regular = np.maximum(np.ceil(clock / self.period_seconds - 1e-9), 1.0)
        overtime_length = max(self.overtime_seconds, 1.0)
        extra = np.ceil((clock - self.regulation) / overtime_length - 1e-9)
        in_overtime = clock > self.regulation + 1e-9
        period = np.where(in_overtime, self.periods + extra, np.minimum(regular, self.periods))
        ends = np.where(
            in_overtime,
            self.regulation + extra * overtime_length,
            period * self.period_seconds,
        )
        return period.astype(np.int64), np.maximum(ends - clock, 0.0)

    def live_grid(self) -> FloatArray:
        """The clocks at which books update in-play prices, overtimes included."""
        regular = np.arange(0.0, self.regulation + self.live_step / 2.0, self.live_step)
        overtime = self.regulation + self.overtime_seconds * np.arange(1, self.max_overtimes + 1)
        return np.concatenate([regular, overtime])

    def regulation_steps(self) -> int:
        """How many live steps fall strictly inside regulation."""
        return int(round(self.regulation / self.live_step)) - 1


RULES: Final[dict[Sport, SportRules]] = {
    "basketball_nba": SportRules(
        key="basketball_nba",
        code=1,
        periods=4,
        period_seconds=720.0,
        overtime_seconds=300.0,
        max_overtimes=6,
        clock_scale=2.5,
        halftime_seconds=900.0,
        live_step=180.0,
        market_offsets=(30 * _HOUR, 12 * _HOUR, 4 * _HOUR, 1 * _HOUR, 0.0),
        season_month_day=(10, 20),
        season_weekday=-1,
    ),
    "americanfootball_nfl": SportRules(
        key="americanfootball_nfl",
        code=2,
        periods=4,
        period_seconds=900.0,
        overtime_seconds=600.0,
        max_overtimes=1,
        clock_scale=2.9,
        halftime_seconds=900.0,
        live_step=300.0,
        market_offsets=(6 * _DAY, 3 * _DAY, 1 * _DAY, 3 * _HOUR, 0.0),
        season_month_day=(9, 7),
        season_weekday=6,
    ),
    "soccer_epl": SportRules(
        key="soccer_epl",
        code=3,
        periods=2,
        period_seconds=2700.0,
        overtime_seconds=0.0,
        max_overtimes=0,
        clock_scale=1.0,
        halftime_seconds=900.0,
        live_step=300.0,
        market_offsets=(5 * _DAY, 2 * _DAY, 1 * _DAY, 3 * _HOUR, 0.0),
        season_month_day=(8, 10),
        season_weekday=5,
    ),
}


def rules(sport: str) -> SportRules:
    """The rules of a simulated sport, or UnknownSportError."""
    if sport not in RULES:
        raise UnknownSportError(f"unknown sport {sport!r}; expected one of: {', '.join(SPORTS)}")
    return RULES[sport]
