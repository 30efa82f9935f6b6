"""What every sport's game model offers, and the results and scoring paths it produces.

A game model holds the hidden parameters of each game (scoring rates, drive counts, ...). From
them it gives the true probability of each outcome in any state, and the true probability of
every spread and total line before the start; simulating it gives `Results`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from ._types import FloatArray, IntArray

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Arrays = TypeVar("Arrays", bound=DataclassInstance)
else:
    Arrays = TypeVar("Arrays")


class GameModel(Protocol):
    """The hidden parameters of a sport's games and the true probabilities they imply."""

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The h2h outcomes, home first: ("home", "away") or ("home", "draw", "away")."""
        ...

    @property
    def spread_lines(self) -> FloatArray:
        """The home handicaps (half points) books choose spreads from, ascending."""
        ...

    @property
    def total_lines(self) -> FloatArray:
        """The total lines (half points) books choose totals from, ascending."""
        ...

    def outcome_probs(
        self, game: IntArray, clock: FloatArray, home: IntArray, away: IntArray
    ) -> FloatArray:
        """True probability of each outcome of `game` with `clock` elapsed at that score."""
        ...

    def cover_table(self) -> FloatArray:
        """P(home margin + handicap > 0) before the start, per game and spread line."""
        ...

    def over_table(self) -> FloatArray:
        """P(total > line) before the start, per game and total line."""
        ...


@dataclass(frozen=True)
class Results:
    """Final scores and the scoring path of each game, as cumulative score events."""

    home_score: IntArray
    away_score: IntArray
    duration: FloatArray  # clock seconds played, overtime included
    event_clock: FloatArray  # (games, events): clock of each score event, ascending, inf after
    event_home: IntArray  # (games, events): home score after each event
    event_away: IntArray

    def score_at(self, game: IntArray, clock: FloatArray) -> tuple[IntArray, IntArray]:
        """Each game's score once `clock` seconds have been played."""
        done = (self.event_clock[game] <= clock[:, None] + 1e-6).sum(axis=1)
        last = np.maximum(done - 1, 0)
        home = np.where(done > 0, self.event_home[game, last], 0)
        away = np.where(done > 0, self.event_away[game, last], 0)
        return home.astype(np.int64), away.astype(np.int64)

    def outcome(self, outcomes: tuple[str, ...]) -> IntArray:
        """Index of each game's result in `outcomes` (home, [draw,] away)."""
        last = len(outcomes) - 1
        draw = 1 if last == 2 else last
        result = np.where(
            self.home_score > self.away_score,
            0,
            np.where(self.home_score < self.away_score, last, draw),
        )
        return result.astype(np.int64)


def concat(parts: list[Arrays]) -> Arrays:
    """Join dataclasses of per-game arrays along the game axis (other fields from the first)."""
    first = parts[0]
    joined: dict[str, Any] = {}
    for field in fields(first):
        value = getattr(first, field.name)
        if isinstance(value, np.ndarray):
            value = np.concatenate([getattr(part, field.name) for part in parts])
        joined[field.name] = value
    return replace(first, **joined)


def take(item: Arrays, index: IntArray) -> Arrays:
    """The games at `index` of a dataclass of per-game arrays."""
    chosen: dict[str, Any] = {}
    for field in fields(item):
        value = getattr(item, field.name)
        chosen[field.name] = value[index] if isinstance(value, np.ndarray) else value
    return replace(item, **chosen)
