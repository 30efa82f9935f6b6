"""The rows the persister stores that no pipeline message carries yet: opportunities and alerts.

The alert engine (or whatever finds them) builds these; ids are chosen by the producer, so a
message told twice is stored once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

OpportunityKind = Literal["value", "arbitrage", "middle"]
Severity = Literal["info", "warning", "critical"]


class OpportunityRecord(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A betting opportunity as stored in `betting_opportunities`; prices are decimal odds and
    `edge` is the expected value per unit staked (the margin, for an arbitrage)."""

    opportunity_id: str
    detected_at: datetime
    kind: OpportunityKind
    event_id: str
    sport: str
    market: str
    edge: float
    outcome: str | None = None
    book: str | None = None
    price: float | None = None
    point: float | None = None
    fair_probability: float | None = None
    prediction_id: str | None = None
    details: dict[str, object] = {}


class AlertRecord(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A system alert as stored in `system_alerts`."""

    alert_id: str
    raised_at: datetime
    severity: Severity
    kind: str
    message: str
    event_id: str | None = None
    details: dict[str, object] = {}
