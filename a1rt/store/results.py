"""Final results: what settles bets and scores the live predictions.

The feature cache reports each game once when it goes final, under the canonical event id;
the runtime turns that into an `EventResult`, stored in `event_results` (through the
persister, so an outage delays it but never loses it) and handed to the ledger to settle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from ..messages import GameState

ResultStatus = Literal["final", "cancelled", "postponed"]


class EventResult(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """An event's final score (or its cancellation, which voids its bets)."""

    event_id: str
    sport: str
    home_team: str
    away_team: str
    home_score: int
    away_score: int
    commence_time: datetime
    final_at: datetime
    source: str
    status: ResultStatus = "final"

    @property
    def total(self) -> int:
        """Points, goals or runs scored by both sides."""
        return self.home_score + self.away_score


def result_of(game: GameState, *, at: datetime | None = None) -> EventResult:
    """The result a final (or cancelled/postponed) game reports."""
    status: ResultStatus = "final"
    if game.status == "cancelled" or game.status == "postponed":
        status = game.status
    return EventResult(
        event_id=game.event_id,
        sport=game.sport,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score,
        away_score=game.away_score,
        commence_time=game.commence_time,
        final_at=at or game.received_at,
        source=game.source,
        status=status,
    )
