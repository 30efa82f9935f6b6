"""A bet's closing line value, from the closing snapshot of its market (betting-math §2.6).

The close is the last `odds_snapshots` row of the event's market before kick-off, at the sharp
book when it quoted the market and at the bet's own book otherwise. Against it:
- price CLV = D_bet / D_close - 1;
- probability CLV = p_close - 1/D_bet, with p_close the devigged closing probability;
- fair CLV = D_bet * p_close - 1, the expected return if the devigged close is the truth.
The arithmetic is a1rt.betting's. For spreads and totals the close counts only at the bet's
point; when the line moved, the closing point and price are recorded but no CLV is claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..betting import BettingError, Method, devig, fair_clv, price_clv, probability_clv

DEFAULT_METHOD: Method = "power"


@dataclass(frozen=True, slots=True)
class ClosingLine:
    """The close a bet is measured against and its CLV figures (None when not comparable)."""

    book: str
    price: float
    point: float | None
    probability: float | None = None  # devigged closing probability of the bet's outcome
    clv_price: float | None = None
    clv_probability: float | None = None
    clv_fair: float | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """One outcome of a snapshot, named by side (home, away, draw, over, under)."""

    side: str
    price: float
    point: float | None


def side_of(name: str, home_team: str, away_team: str) -> str | None:
    """The side a snapshot's outcome name stands for, or None."""
    folded = name.strip().casefold()
    if folded == home_team.strip().casefold() or folded == "home":
        return "home"
    if folded == away_team.strip().casefold() or folded == "away":
        return "away"
    if folded in ("draw", "tie", "x"):
        return "draw"
    if folded in ("over", "under"):
        return folded
    return None


def quotes(outcomes: Sequence[dict[str, Any]], home_team: str, away_team: str) -> list[Quote]:
    """A snapshot's `outcomes` JSON as quotes by side (unrecognised names and bad prices are
    left out)."""
    found = []
    for item in outcomes:
        side = side_of(str(item.get("name", "")), home_team, away_team)
        price = item.get("price")
        point = item.get("point")
        if side is None or not isinstance(price, int | float) or not price > 1:
            continue
        found.append(Quote(side, float(price), None if point is None else float(point)))
    return found


def closing_line(
    market: str,
    outcome: str,
    point: float | None,
    price: float,
    book: str,
    close: Sequence[Quote],
    *,
    method: Method = DEFAULT_METHOD,
) -> ClosingLine | None:
    """The bet's CLV against the closing quotes `close` (one book's snapshot of the market);
    None if the close does not quote the bet's outcome."""
    own = [q for q in close if q.side == outcome]
    if not own:
        return None
    wanted = None if market == "h2h" else point
    same_point = [q for q in own if q.point == wanted or market == "h2h"]
    if not same_point:  # the line moved: record where it closed, claim nothing
        moved = min(own, key=lambda q: abs((q.point or 0.0) - (point or 0.0)))
        return ClosingLine(book, moved.price, moved.point)
    quote = same_point[0]
    market_quotes = [quote, *_others(market, quote, close)]
    probability = None
    if len(market_quotes) >= 2:
        try:
            probability = float(devig([q.price for q in market_quotes], method)[0])
        except BettingError:
            probability = None
    return ClosingLine(
        book,
        quote.price,
        quote.point,
        probability,
        clv_price=price_clv(price, quote.price),
        clv_probability=None if probability is None else probability_clv(price, probability),
        clv_fair=None if probability is None else fair_clv(price, probability),
    )


def _others(market: str, quote: Quote, close: Sequence[Quote]) -> list[Quote]:
    """The rest of the market the quote belongs to: each other side once, at the matching
    point (the same total, the opposite handicap)."""
    chosen: dict[str, Quote] = {}
    for q in close:
        if q.side == quote.side or q.side in chosen:
            continue
        if market == "totals" and q.point != quote.point:
            continue
        if market == "spreads" and (q.point is None or quote.point is None
                                    or q.point != -quote.point):  # fmt: skip
            continue
        chosen[q.side] = q
    return list(chosen.values())
