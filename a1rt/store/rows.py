"""Messages to table rows, in each table's COPY column order.

Rows carry only str, int, float, datetime and None (JSONB columns as JSON text), so the journal can
store them as they are. Naive datetimes are taken to be UTC (a1rt's messages are always aware;
this keeps a stray naive one from being read in the server's time zone). Rows without an id of
their own (odds snapshots, feature vectors) get a digest of what identifies them, so the same
message told twice is the same row.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

from ..messages import FeatureVector, OddsUpdate, Prediction
from .records import AlertRecord, OpportunityRecord
from .results import EventResult
from .tables import (
    BETTING_OPPORTUNITIES,
    EVENT_RESULTS,
    FEATURE_STORE,
    ODDS_SNAPSHOTS,
    PREDICTIONS,
    SYSTEM_ALERTS,
    Table,
)

Persistable = (
    Prediction | OddsUpdate | FeatureVector | OpportunityRecord | AlertRecord | EventResult
)
Value = str | int | float | datetime | None
Row = tuple[Value, ...]

_json = msgspec.json.Encoder()


def to_row(message: Persistable) -> tuple[Table, Row]:
    """The table `message` goes to and its row there."""
    match message:
        case Prediction():
            return PREDICTIONS, prediction_row(message)
        case OddsUpdate():
            return ODDS_SNAPSHOTS, odds_row(message)
        case FeatureVector():
            return FEATURE_STORE, feature_row(message)
        case OpportunityRecord():
            return BETTING_OPPORTUNITIES, opportunity_row(message)
        case AlertRecord():
            return SYSTEM_ALERTS, alert_row(message)
        case EventResult():
            return EVENT_RESULTS, result_row(message)
    raise TypeError(f"cannot store a {type(message).__name__}")


def prediction_row(p: Prediction) -> Row:
    return (
        p.prediction_id, _utc(p.created_at), p.model, p.version, p.event_id,
        _json.encode(p.probabilities).decode(), p.confidence, _json.encode(p.members).decode(),
    )  # fmt: skip


def odds_row(o: OddsUpdate) -> Row:
    received = _utc(o.received_at)
    snapshot_id = _digest(o.source, o.event_id, o.book, o.market, _instant(received))
    return (
        snapshot_id, received, o.event_id, o.sport, o.book, o.market, o.home_team, o.away_team,
        _utc(o.commence_time), _json.encode(o.outcomes).decode(), o.source,
        None if o.source_time is None else _utc(o.source_time),
    )  # fmt: skip


def feature_row(f: FeatureVector) -> Row:
    computed = _utc(f.computed_at)
    feature_id = _digest(f.event_id, f.model, _instant(computed))
    return (
        feature_id, computed, f.event_id, f.sport, f.model, _json.encode(f.features).decode()
    )  # fmt: skip


def opportunity_row(o: OpportunityRecord) -> Row:
    return (
        o.opportunity_id, _utc(o.detected_at), o.kind, o.event_id, o.sport, o.market, o.outcome,
        o.book, o.price, o.point, o.fair_probability, o.edge, o.prediction_id,
        _json.encode(o.details).decode(),
    )  # fmt: skip


def alert_row(a: AlertRecord) -> Row:
    return (
        a.alert_id, _utc(a.raised_at), a.severity, a.kind, a.message, a.event_id,
        _json.encode(a.details).decode(),
    )  # fmt: skip


def result_row(r: EventResult) -> Row:
    return (
        r.event_id, r.sport, r.home_team, r.away_team, r.home_score, r.away_score, r.status,
        _utc(r.commence_time), _utc(r.final_at), r.source,
    )  # fmt: skip


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _instant(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"  # the same for every time zone the instant is written in
