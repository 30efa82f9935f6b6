"""Betting opportunities found in one event's prices: value bets, arbitrage, middles.

Pure logic over the latest OddsUpdate of every book (no I/O, no clock of its own): the alert
engine keeps the state and calls these on every change. Prices are decimal odds; outcome names
are compared through `normalize_team`, so "Draw", "Over" and team names agree across providers.
A price not seen for `max_age` seconds (see `seen_at`) is never used.

- Value bet: the model's probability p against the best fresh price D across books; reported
  when the edge p - 1/D is above the minimum, with EV p*D - 1 and a (fractional) Kelly stake.
  A totals prediction is about the books' median "Over" line, so only that line is compared.
- Arbitrage: the best price of every outcome of one line, across books, with sum 1/D < 1.
- Middle: an over at a lower line and an under at a higher one (for spreads, the home side's
  cover line below the away side's), valued on a discrete score distribution around the
  market's consensus line.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..betting import BettingError, arbitrage, kelly_single, middle
from ..messages import OddsUpdate, Prediction
from ..sources.provider import normalize_team

DRAW = normalize_team("Draw")
OVER = normalize_team("Over")
UNDER = normalize_team("Under")
# The spread of the final total / home margin around the market's line, for valuing middles
# (NFL and NBA final margins and totals are roughly normal at these widths; soccer totals are
# roughly Poisson with the line as mean).
SCORE_SD: dict[tuple[str, str], float] = {
    ("basketball", "totals"): 18.0,
    ("basketball", "spreads"): 12.0,
    ("americanfootball", "totals"): 13.5,
    ("americanfootball", "spreads"): 13.5,
    ("soccer", "spreads"): 1.7,
}
DEFAULT_SD = 12.0


@dataclass(frozen=True, slots=True)
class Quote:
    """One outcome's price at one book."""

    book: str
    market: str
    key: str  # the normalised outcome name
    name: str  # as the book quotes it
    price: float
    point: float | None
    stamped_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {"book": self.book, "outcome": self.name, "price": self.price, "point": self.point}


@dataclass(slots=True)
class EventOdds:
    """One event's latest prices, per book and market."""

    event_id: str
    sport: str
    home_team: str
    away_team: str
    commence_time: datetime
    updates: dict[tuple[str, str], OddsUpdate] = field(default_factory=dict)

    @classmethod
    def of(cls, update: OddsUpdate) -> EventOdds:
        return cls(update.event_id, update.sport, update.home_team, update.away_team,
                   update.commence_time)  # fmt: skip

    def apply(self, update: OddsUpdate) -> None:
        self.updates[(update.book, update.market)] = update

    def market(self, market: str) -> list[OddsUpdate]:
        return [u for (_, m), u in self.updates.items() if m == market]

    def quotes(self, market: str, now: datetime, max_age: float) -> list[Quote]:
        """Every fresh, valid price of `market` across books."""
        return [
            q
            for u in self.market(market)
            if (now - seen_at(u)).total_seconds() <= max_age
            for q in quotes_of(u)
        ]

    @property
    def home(self) -> str:
        return normalize_team(self.home_team)

    @property
    def away(self) -> str:
        return normalize_team(self.away_team)


def seen_at(update: OddsUpdate) -> datetime:
    """When a book was last seen quoting these prices: every poll re-reads them, so a price
    not seen for a while (a source stalled, a market pulled) is stale. The provider's own stamp
    says when the book last *changed* the price, which is no measure of staleness."""
    return update.received_at


def quotes_of(update: OddsUpdate) -> list[Quote]:
    """The update's usable outcomes (a price of 1 or less is a provider placeholder)."""
    stamp = seen_at(update)
    return [
        Quote(update.book, update.market, normalize_team(o.name), o.name, o.price, o.point, stamp)
        for o in update.outcomes
        if math.isfinite(o.price) and o.price > 1.0
    ]


def best(quotes: Iterable[Quote]) -> Quote | None:
    """The highest price (ties: the first book by name)."""
    return min(quotes, key=lambda q: (-q.price, q.book), default=None)


# --- value bets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueBet:
    """The model's probability of one outcome against the best fresh price for it."""

    market: str
    quote: Quote
    probability: float
    ev: float  # p*D - 1, per unit staked
    edge: float  # p - 1/D
    kelly: float  # the stake to bet, a fraction of the bankroll: fraction * full Kelly
    full_kelly: float
    books: int  # books compared


def market_of(model: str, sport: str) -> str | None:
    """The odds market a model prices (`basketball_nba_totals` → totals); None for props."""
    suffix = model.removeprefix(f"{sport}_")
    return suffix if suffix in ("h2h", "totals", "spreads") else None


def outcome_key(label: str, odds: EventOdds) -> str:
    """A prediction's outcome label ("home", "away", "draw", "over", "under") as a quote key."""
    if label == "home":
        return odds.home
    if label == "away":
        return odds.away
    return normalize_team(label)


def median_line(odds: EventOdds) -> float | None:
    """The books' median "Over" total: the line a totals model's prediction refers to."""
    points = [q.point for u in odds.market("totals") for q in quotes_of(u)
              if q.key == OVER and q.point is not None]  # fmt: skip
    return statistics.median(points) if points else None


def value_bets(
    prediction: Prediction,
    odds: EventOdds,
    *,
    min_edge: float,
    kelly_fraction: float,
    max_age: float,
    now: datetime,
) -> list[ValueBet]:
    """Each predicted outcome whose best fresh price beats the model by more than min_edge."""
    market = market_of(prediction.model, odds.sport)
    if market is None or prediction.subject is not None:
        return []
    quotes = odds.quotes(market, now, max_age)
    if market == "totals":
        line = median_line(odds)
        quotes = [q for q in quotes if line is not None and q.point == line]
    found = []
    for label, probability in prediction.probabilities.items():
        key = outcome_key(label, odds)
        offered = [q for q in quotes if q.key == key]
        top = best(offered)
        if top is None or not 0.0 < probability < 1.0:
            continue
        edge = probability - 1.0 / top.price
        if edge <= min_edge:
            continue
        full = kelly_single(probability, top.price)
        found.append(ValueBet(
            market, top, probability, probability * top.price - 1.0, edge,
            kelly_fraction * full, full, len({q.book for q in offered}),
        ))  # fmt: skip
    return found


# --- arbitrage -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leg:
    quote: Quote
    stake: float  # share of the outlay

    def as_dict(self) -> dict[str, object]:
        return {**self.quote.as_dict(), "stake": self.stake}


@dataclass(frozen=True, slots=True)
class ArbitrageFound:
    """Equal-payout stakes on the best price of every outcome of one line."""

    market: str
    line: float | None  # the home side's point (spreads), the total (totals), None (h2h)
    legs: tuple[Leg, ...]
    booksum: float
    margin: float  # guaranteed return per unit of outlay, 1/booksum - 1


def _line_key(quote: Quote, odds: EventOdds) -> float | None:
    """Which line a quote belongs to: spreads by the home side's point, totals by the total."""
    if quote.market == "h2h" or quote.point is None:
        return None
    if quote.market == "spreads" and quote.key != odds.home:
        return -quote.point
    return quote.point


def _outcome_set(market: str, odds: EventOdds, quotes: list[Quote]) -> tuple[str, ...]:
    if market == "totals":
        return (OVER, UNDER)
    if market == "spreads":
        return (odds.home, odds.away)
    three_way = odds.sport.startswith("soccer") or any(q.key == DRAW for q in quotes)
    return (odds.home, DRAW, odds.away) if three_way else (odds.home, odds.away)


def arbitrages(odds: EventOdds, market: str, *, now: datetime, max_age: float
               ) -> list[ArbitrageFound]:  # fmt: skip
    """Every line of `market` whose best fresh prices across books sum (as 1/D) below 1."""
    quotes = odds.quotes(market, now, max_age)
    if market != "h2h":
        quotes = [q for q in quotes if q.point is not None]
    lines: dict[float | None, list[Quote]] = {}
    for quote in quotes:
        lines.setdefault(_line_key(quote, odds), []).append(quote)
    found = []
    for line, group in sorted(lines.items(), key=lambda item: (item[0] is None, item[0] or 0.0)):
        tops = [best(q for q in group if q.key == key) for key in _outcome_set(market, odds, group)]
        chosen = [q for q in tops if q is not None]
        if len(chosen) != len(tops):
            continue
        split = arbitrage([q.price for q in chosen])
        if split.is_arb:
            legs = tuple(Leg(q, s) for q, s in zip(chosen, split.stakes, strict=True))
            found.append(ArbitrageFound(market, line, legs, split.booksum, split.profit))
    return found


# --- middles ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MiddleFound:
    """One unit on the over at `low` and one on the under at `high`: both win in between."""

    market: str
    over: Quote  # totals: the Over; spreads: the home side (over -point of the home margin)
    under: Quote  # totals: the Under; spreads: the away side (under its point)
    low: float
    high: float
    ev: float  # expected profit of the pair (two units staked)
    middle_probability: float  # of the result landing where both bets win
    center: float
    sd: float


def score_distribution(sport: str, market: str, center: float) -> tuple[dict[int, float], float]:
    """P(final total, or home margin, = k) around the market's line, and its spread."""
    family = sport.split("_")[0]
    if family == "soccer" and market == "totals":
        mean = max(center, 0.1)
        top = int(mean + 10 * math.sqrt(mean)) + 5
        weights = {k: math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(top)}
        return _normalised(weights), math.sqrt(mean)
    sd = SCORE_SD.get((family, market), DEFAULT_SD)
    low, high = math.floor(center - 7 * sd), math.ceil(center + 7 * sd)
    weights = {k: _phi((k + 0.5 - center) / sd) - _phi((k - 0.5 - center) / sd)
               for k in range(low, high + 1)}  # fmt: skip
    return _normalised(weights), sd


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _normalised(weights: Mapping[int, float]) -> dict[int, float]:
    total = math.fsum(weights.values())
    return {k: w / total for k, w in weights.items() if w > 0.0}


def _middle_sides(odds: EventOdds, market: str, quotes: list[Quote]
                  ) -> tuple[list[tuple[float, Quote]], list[tuple[float, Quote]]]:  # fmt: skip
    """(line, quote) of the over sides and of the under sides."""
    overs: list[tuple[float, Quote]] = []
    unders: list[tuple[float, Quote]] = []
    for q in quotes:
        if q.point is None:
            continue
        if market == "totals":
            (overs if q.key == OVER else unders if q.key == UNDER else []).append((q.point, q))
        elif q.key == odds.home:
            overs.append((-q.point, q))  # home covers when its margin beats -point
        elif q.key == odds.away:
            unders.append((q.point, q))  # away covers when the home margin stays under point
    return overs, unders


def best_middle(
    odds: EventOdds, market: str, *, now: datetime, max_age: float, min_ev: float
) -> MiddleFound | None:
    """The best-EV middle of a totals or spreads market across fresh prices, if one reaches
    min_ev (EV per pair, two units staked)."""
    if market not in ("totals", "spreads"):
        return None
    overs, unders = _middle_sides(odds, market, odds.quotes(market, now, max_age))
    if not overs or not unders:
        return None
    center = statistics.median(line for line, _ in overs)
    distribution, sd = score_distribution(odds.sport, market, center)
    found: MiddleFound | None = None
    for low, over in _best_per_line(overs):
        for high, under in _best_per_line(unders):
            if high <= low:
                continue
            try:
                valued = middle(low, over.price, high, under.price, distribution)
            except BettingError:
                continue
            both = max(r.pnl for r in valued.regions)
            inside = math.fsum(r.probability for r in valued.regions if r.pnl == both)
            if valued.ev >= min_ev and (found is None or valued.ev > found.ev):
                found = MiddleFound(market, over, under, low, high, valued.ev, inside, center, sd)
    return found


def _best_per_line(sides: list[tuple[float, Quote]]) -> list[tuple[float, Quote]]:
    lines: dict[float, Quote] = {}
    for line, quote in sides:
        held = lines.get(line)
        if held is None or best((held, quote)) is quote:
            lines[line] = quote
    return sorted(lines.items())
