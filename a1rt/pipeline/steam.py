"""Steam: the sharp book's devigged probability (or line) moving past a threshold within a
window, per outcome. Pure state over the sharp book's updates; the alert engine turns the moves
into alerts (raised while the move lasts, resolved when the window has passed it)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..betting import BettingError, devig
from ..messages import OddsUpdate
from ..sources.provider import normalize_team
from .opportunities import quotes_of
from .system_alerts import Condition, Severity


@dataclass(frozen=True, slots=True)
class Steam:
    """The sharp book's move on one outcome within the window."""

    event_id: str
    sport: str
    market: str
    outcome: str
    book: str
    from_probability: float
    to_probability: float
    from_price: float
    to_price: float
    from_point: float | None
    to_point: float | None
    seconds: float  # between the two prices
    move: float  # to_probability - from_probability
    points: float  # to_point - from_point (0 for h2h)


@dataclass(frozen=True, slots=True)
class _Mark:
    at: float  # the engine's clock when the price arrived
    probability: float
    price: float
    point: float | None


class SteamTracker:
    """Each outcome's recent path at the sharp book; `moves` reports those that moved more than
    `threshold` (devigged probability points) or `points` (line) within `window` seconds."""

    def __init__(self, *, window: float, threshold: float, points: float) -> None:
        self.window = window
        self.threshold = threshold
        self.points = points
        self._paths: dict[tuple[str, str, str], deque[_Mark]] = {}
        self._names: dict[tuple[str, str, str], tuple[str, str, str]] = {}  # sport, name, book

    def observe(self, update: OddsUpdate, now: float) -> None:
        """Note the sharp book's update of one market."""
        quotes = quotes_of(update)
        if len(quotes) < 2:
            return
        try:
            fair = devig([q.price for q in quotes])
        except BettingError:
            return
        for quote, probability in zip(quotes, fair, strict=True):
            key = (update.event_id, update.market, quote.key)
            path = self._paths.setdefault(key, deque())
            path.append(_Mark(now, float(probability), quote.price, quote.point))
            self._names[key] = (update.sport, quote.name, update.book)
            self._prune(path, now)

    def forget(self, event_id: str) -> None:
        for key in [k for k in self._paths if k[0] == event_id]:
            del self._paths[key]
            self._names.pop(key, None)

    def moves(self, now: float) -> list[Steam]:
        """Every outcome whose newest price is past a threshold from one within the window (or
        from the price in force when the window opened)."""
        found = []
        for key, path in self._paths.items():
            self._prune(path, now)
            newest = path[-1]
            for earlier in path:
                if earlier is newest:
                    break
                moved = newest.probability - earlier.probability
                shifted = _shift(earlier.point, newest.point)
                if abs(moved) >= self.threshold or (self.points and abs(shifted) >= self.points):
                    sport, name, book = self._names[key]
                    found.append(Steam(
                        key[0], sport, key[1], name, book, earlier.probability,
                        newest.probability, earlier.price, newest.price, earlier.point,
                        newest.point, newest.at - earlier.at, moved, shifted,
                    ))  # fmt: skip
                    break
        return found

    def _prune(self, path: deque[_Mark], now: float) -> None:
        """Drop marks older than the one in force at the window's start."""
        start = now - self.window
        while len(path) > 1 and path[1].at <= start:
            path.popleft()


def _shift(before: float | None, after: float | None) -> float:
    if before is None or after is None:
        return 0.0
    return after - before


def steam_conditions(moves: list[Steam], *, threshold: float, points: float) -> list[Condition]:
    """One alert condition per moving outcome: info, or warning at twice a threshold."""
    conditions = []
    for move in moves:
        big = abs(move.move) >= 2 * threshold or (points > 0 and abs(move.points) >= 2 * points)
        severity: Severity = "warning" if big else "info"
        line = "" if move.to_point is None else f" line {move.from_point:g} → {move.to_point:g},"
        conditions.append(Condition(
            f"steam:{move.event_id}:{move.market}:{normalize_team(move.outcome)}", "steam",
            severity,
            f"steam at {move.book}: {move.outcome} {move.market}{line} "
            f"{move.from_price:g} → {move.to_price:g} "
            f"({move.move:+.1%} fair probability in {move.seconds:.0f}s)",
            event_id=move.event_id,
            details={"sport": move.sport, "market": move.market, "outcome": move.outcome,
                     "book": move.book, "from_price": move.from_price,
                     "to_price": move.to_price, "from_point": move.from_point,
                     "to_point": move.to_point, "from_probability": move.from_probability,
                     "to_probability": move.to_probability, "move": move.move,
                     "points": move.points, "seconds": move.seconds},
        ))  # fmt: skip
    return conditions
