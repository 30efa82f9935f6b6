"""The open opportunities: their records, deduplication and closing.

Each finding fills a slot (value: event, market, outcome; arbitrage: event, market, line;
middle: event, market). A slot's record is published once, and again (a new record naming the
one it supersedes) only when the bet itself changes (book, price, line) or its EV moves by
`EV_STEP`. A slot of an evaluated scope (event, market) that no longer holds is closed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import msgspec

from ..messages import Prediction
from ..store import OpportunityRecord
from .opportunities import ArbitrageFound, EventOdds, MiddleFound, ValueBet

EV_STEP = 0.01  # an open opportunity is re-published when its EV moves this much
Slot = tuple[str, ...]
Scope = tuple[str, str]  # event, market
Found = tuple[Slot, tuple[object, ...], OpportunityRecord]  # slot, what the bet is, the record


@dataclass(slots=True)
class OpenOpportunity:
    record: OpportunityRecord
    signature: tuple[object, ...]
    scope: Scope


def _digest(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _teams(event: EventOdds) -> dict[str, object]:
    return {"home_team": event.home_team, "away_team": event.away_team}


def value_record(
    event: EventOdds, prediction: Prediction, bet: ValueBet, now: datetime, kelly_fraction: float
) -> Found:
    """A value bet; `edge` is its EV per unit staked, p*D - 1."""
    q = bet.quote
    slot = ("value", event.event_id, bet.market, q.key)
    signature = (q.book, q.price, q.point)
    return slot, signature, OpportunityRecord(
        opportunity_id=_digest(*slot, *signature, now.isoformat()), detected_at=now,
        kind="value", event_id=event.event_id, sport=event.sport, market=bet.market,
        edge=bet.ev, outcome=q.name, book=q.book, price=q.price, point=q.point,
        fair_probability=bet.probability, prediction_id=prediction.prediction_id,
        details={"model": prediction.model, "version": prediction.version,
                 "probability_edge": bet.edge, "kelly": bet.kelly, "full_kelly": bet.full_kelly,
                 "kelly_fraction": kelly_fraction, "books": bet.books, "seen_at": q.stamped_at,
                 **_teams(event)},
    )  # fmt: skip


def arbitrage_record(event: EventOdds, arb: ArbitrageFound, now: datetime) -> Found:
    """An arbitrage; `edge` is its guaranteed return per unit of outlay, legs in details."""
    slot = ("arbitrage", event.event_id, arb.market, str(arb.line))
    signature = tuple((leg.quote.book, leg.quote.key, leg.quote.price, leg.quote.point)
                      for leg in arb.legs)  # fmt: skip
    return slot, signature, OpportunityRecord(
        opportunity_id=_digest(*slot, signature, now.isoformat()), detected_at=now,
        kind="arbitrage", event_id=event.event_id, sport=event.sport, market=arb.market,
        edge=arb.margin, point=arb.line,
        details={"legs": [leg.as_dict() for leg in arb.legs], "booksum": arb.booksum,
                 "payout": 1.0 / arb.booksum, **_teams(event)},
    )  # fmt: skip


def middle_record(event: EventOdds, mid: MiddleFound, now: datetime) -> Found:
    """A middle; `edge` is its EV per unit staked (the pair's EV over its two units)."""
    slot = ("middle", event.event_id, mid.market)
    signature = (mid.over.book, mid.over.price, mid.low, mid.under.book, mid.under.price,
                 mid.high)  # fmt: skip
    return slot, signature, OpportunityRecord(
        opportunity_id=_digest(*slot, *signature, now.isoformat()), detected_at=now,
        kind="middle", event_id=event.event_id, sport=event.sport, market=mid.market,
        edge=mid.ev / 2.0,
        details={"over": {**mid.over.as_dict(), "line": mid.low},
                 "under": {**mid.under.as_dict(), "line": mid.high},
                 "window": [mid.low, mid.high], "middle_probability": mid.middle_probability,
                 "ev_per_pair": mid.ev, "distribution": {"center": mid.center, "sd": mid.sd},
                 **_teams(event)},
    )  # fmt: skip


def closure(record: OpportunityRecord, at: datetime) -> dict[str, object]:
    """What the `opportunities` channel carries when an opportunity stops holding."""
    return {"opportunity_id": record.opportunity_id, "status": "closed", "closed_at": at,
            "kind": record.kind, "event_id": record.event_id, "sport": record.sport,
            "market": record.market}  # fmt: skip


class OpportunityBook:
    """The open opportunities, by slot."""

    def __init__(self) -> None:
        self.open: dict[Slot, OpenOpportunity] = {}

    def reconcile(
        self, scope: Scope, found: list[Found]
    ) -> tuple[list[OpportunityRecord], list[OpportunityRecord]]:
        """Everything found in `scope` now: returns (new records, records closed)."""
        published: list[OpportunityRecord] = []
        holding = set()
        for slot, signature, record in found:
            holding.add(slot)
            current = self.open.get(slot)
            if (
                current is not None
                and current.signature == signature
                and (abs(current.record.edge - record.edge) < EV_STEP)
            ):
                continue
            if current is not None:
                record = msgspec.structs.replace(
                    record, details={**record.details, "supersedes": current.record.opportunity_id}
                )
            self.open[slot] = OpenOpportunity(record, signature, scope)
            published.append(record)
        closed = []
        for slot, current in list(self.open.items()):
            if current.scope == scope and slot not in holding:
                del self.open[slot]
                closed.append(current.record)
        return published, closed

    def scopes(self) -> set[Scope]:
        return {o.scope for o in self.open.values()}

    def records(self) -> list[OpportunityRecord]:
        """The open opportunities, best edge first."""
        return sorted((o.record for o in self.open.values()), key=lambda r: -r.edge)
