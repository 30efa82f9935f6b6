"""Middles: an over and an under on one total or spread that can both win (betting-math §2.5).

One unit goes on each side. Totals and margins are whole numbers, so a whole-number line can
push; a quarter line (44.25) settles half its stake on each neighbouring line (44 and 44.5).
For a spread, pass the distribution of the favourite's winning margin: the favourite at -x is
an over x, the underdog at +y an under y.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import _validate
from ._exceptions import InvalidParameterError, InvalidProbabilityError


@dataclass(frozen=True, slots=True)
class MiddleRegion:
    """Final totals from lowest to highest (None: unbounded) over which the pair's P&L is fixed."""

    lowest: int | None
    highest: int | None
    pnl: float  # net profit of the pair, one unit on each side
    probability: float  # of the final total landing in the region, per the distribution


@dataclass(frozen=True, slots=True)
class Middle:
    """P&L of one unit on the over and one on the under, by region, and its expected value."""

    regions: tuple[MiddleRegion, ...]
    ev: float


@dataclass(frozen=True, slots=True)
class _Bet:
    line: float
    odds: float
    over: bool

    def pnl(self, total: int) -> float:
        """Net profit of one unit on this bet when the final total is `total`."""
        if _is_quarter(self.line):
            halves = (self.line - 0.25, self.line + 0.25)
            return sum(_Bet(line, self.odds, self.over).pnl(total) for line in halves) / 2.0
        ahead = total - self.line if self.over else self.line - total
        return self.odds - 1.0 if ahead > 0 else 0.0 if ahead == 0 else -1.0

    def settlement_lines(self) -> tuple[float, ...]:
        """The lines at which this bet's result changes."""
        if _is_quarter(self.line):
            return (self.line - 0.25, self.line + 0.25)
        return (self.line,)


def middle(
    over_line: float,
    over_odds: float,
    under_line: float,
    under_odds: float,
    distribution: Mapping[int, float],
) -> Middle:
    """Return the P&L by region and the EV of over/under bets, given P(final total = value)."""
    bets = (
        _Bet(_line(over_line, "over_line"), _validate.price(over_odds, "over_odds"), over=True),
        _Bet(
            _line(under_line, "under_line"), _validate.price(under_odds, "under_odds"), over=False
        ),
    )
    outcomes = _outcomes(distribution)
    regions = tuple(
        MiddleRegion(
            lowest, highest, _pair_pnl(bets, inside), _chance_within(outcomes, lowest, highest)
        )
        for lowest, highest, inside in _ranges(bets)
    )
    ev = math.fsum(chance * _pair_pnl(bets, total) for total, chance in outcomes.items())
    return Middle(regions=regions, ev=ev)


def _pair_pnl(bets: tuple[_Bet, _Bet], total: int) -> float:
    return bets[0].pnl(total) + bets[1].pnl(total)


def _is_quarter(line: float) -> bool:
    return (line * 4.0) % 2.0 == 1.0


def _line(value: float, name: str) -> float:
    return _validate.number(value, name, InvalidParameterError)


def _outcomes(distribution: Mapping[int, float]) -> dict[int, float]:
    if not isinstance(distribution, Mapping) or not distribution:
        raise InvalidProbabilityError("distribution must be a non-empty mapping of total -> chance")
    outcomes = {_whole(total): _chance(total, chance) for total, chance in distribution.items()}
    _validate.distribution(list(outcomes.values()), "distribution probabilities")
    return outcomes


def _whole(total: object) -> int:
    value = _validate.number(total, f"distribution total {total!r}", InvalidProbabilityError)
    if not value.is_integer():
        raise InvalidProbabilityError(f"distribution total {total!r} is not a whole number")
    return int(value)


def _chance(total: object, chance: object) -> float:
    return _validate.probability(chance, f"distribution[{total!r}]")


def _ranges(bets: tuple[_Bet, _Bet]) -> list[tuple[int | None, int | None, int]]:
    """Split the whole numbers at the settlement lines: below, on and between each of them.

    Each range is (lowest, highest, a total inside it); None leaves that side unbounded.
    """
    lines = sorted({line for bet in bets for line in bet.settlement_lines()})
    below = math.ceil(lines[0]) - 1
    ranges: list[tuple[int | None, int | None, int]] = [(None, below, below)]
    for here, following in zip(lines, [*lines[1:], None], strict=True):
        if here.is_integer():
            ranges.append((int(here), int(here), int(here)))
        lowest = math.floor(here) + 1
        highest = None if following is None else math.ceil(following) - 1
        if highest is None or lowest <= highest:
            ranges.append((lowest, highest, lowest))
    return ranges


def _chance_within(outcomes: dict[int, float], lowest: int | None, highest: int | None) -> float:
    return math.fsum(
        chance
        for total, chance in outcomes.items()
        if (lowest is None or total >= lowest) and (highest is None or total <= highest)
    )
