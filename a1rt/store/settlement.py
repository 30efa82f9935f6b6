"""Grading a bet against a final result: won, lost, push, void, and the split results of
quarter lines (betting-math §1, penaltyblog #22).

Outcomes are named by side: `home`, `away`, `draw` (h2h), `home`/`away` with the side's own
handicap as `point` (spreads), `over`/`under` with the line as `point` (totals).
- A line on a whole or half number grades the whole stake: it wins when the side's margin
  plus the handicap (or the total against the line) is positive, pushes at zero.
- A quarter line (x.25, x.75) is two half stakes on the lines either side of it (-0.25 is
  half on 0 and half on -0.5): both win is `won`, a win and a push `half_won`, a push and a
  loss `half_lost`, both lose `lost`.
- A cancelled or postponed event voids its bets. A tie in a two-way h2h bet pushes, except
  in soccer, where the draw is an outcome of its own and a home or away bet loses.
Payouts are what the book pays back, stake included: a win returns stake x price, a push or
void the stake, a loss nothing; they are rounded to the 4 decimals `bet_history` keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from .results import EventResult

Result = Literal["pending", "won", "lost", "push", "void", "half_won", "half_lost"]
Settled = Literal["won", "lost", "push", "void", "half_won", "half_lost"]
MarketName = Literal["h2h", "spreads", "totals"]

RESULTS: tuple[Result, ...] = ("pending", "won", "lost", "push", "void", "half_won", "half_lost")
OUTCOMES: dict[str, tuple[str, ...]] = {
    "h2h": ("home", "away", "draw"),
    "spreads": ("home", "away"),
    "totals": ("over", "under"),
}
_CENT = Decimal("0.0001")
_THREE_WAY_PREFIXES = ("soccer",)  # sports whose h2h market has a draw


@dataclass(frozen=True, slots=True)
class Grade:
    """A settled bet: its result and what it pays back (stake included)."""

    result: Settled
    payout: Decimal


def settle(
    market: str,
    outcome: str,
    point: float | None,
    price: float,
    stake: Decimal,
    result: EventResult,
) -> Grade:
    """Grade one bet; ValueError if the market, outcome or point cannot be graded."""
    if result.status != "final":
        return Grade("void", _money(stake))
    units = _units(market, outcome, point, result)  # per half stake: 1 won, 0 push, -1 lost
    half = stake / 2
    payout = sum((_returned(half, price, u) for u in units), Decimal(0))
    return Grade(_result(units), _money(payout))


def margin_for(market: str, outcome: str, result: EventResult) -> int:
    """The graded quantity before the line: the side's winning margin, or the total (signed so
    that over and under both win when it is positive against the line)."""
    if market == "totals":
        if outcome == "over":
            return result.total
        if outcome == "under":
            return -result.total
    elif outcome == "home":
        return result.home_score - result.away_score
    elif outcome == "away":
        return result.away_score - result.home_score
    raise ValueError(f"outcome {outcome!r} cannot be graded in market {market!r}")


def is_quarter(point: float) -> bool:
    """True for a quarter line (x.25 or x.75)."""
    return (point * 4) % 2 == 1


def _units(market: str, outcome: str, point: float | None, result: EventResult) -> list[int]:
    if outcome not in OUTCOMES.get(market, ()):
        raise ValueError(f"outcome {outcome!r} is not an outcome of market {market!r}")
    if market == "h2h":
        return [_h2h(outcome, result)] * 2
    if point is None:
        raise ValueError(f"a {market} bet needs its point")
    if (point * 4) % 1:
        raise ValueError(f"point {point!r} is not a multiple of 0.25")
    margin = margin_for(market, outcome, result)
    # over L wins when total - L > 0, under L when L - total > 0, a side when margin + L > 0
    line = -point if outcome == "over" else point
    if is_quarter(point):
        lines = [line - 0.25, line + 0.25]
    else:
        lines = [line, line]
    return [_sign(margin + each) for each in lines]


def _h2h(outcome: str, result: EventResult) -> int:
    diff = result.home_score - result.away_score
    if outcome == "draw":
        return 1 if diff == 0 else -1
    if diff == 0:
        return -1 if result.sport.startswith(_THREE_WAY_PREFIXES) else 0
    won = diff > 0 if outcome == "home" else diff < 0
    return 1 if won else -1


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _returned(stake: Decimal, price: float, unit: int) -> Decimal:
    if unit > 0:
        return stake * Decimal(repr(price))
    return stake if unit == 0 else Decimal(0)


def _result(units: list[int]) -> Settled:
    match sorted(units):
        case [1, 1]:
            return "won"
        case [-1, -1]:
            return "lost"
        case [0, 0]:
            return "push"
        case [0, 1]:
            return "half_won"
        case [-1, 0]:
            return "half_lost"
    raise AssertionError(units)  # half a point apart: never a win and a loss together


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
