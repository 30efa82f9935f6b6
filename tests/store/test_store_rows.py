"""Messages to rows, pending batches, the persister's settings and the package's API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

import a1rt.store
from a1rt.errors import A1rtError
from a1rt.messages import FeatureVector, OddsUpdate, OutcomePrice, Prediction
from a1rt.store import AlertRecord, OpportunityRecord, PersisterConfig, StoreError
from a1rt.store.batches import PendingRows
from a1rt.store.rows import to_row
from a1rt.store.tables import ODDS_SNAPSHOTS, PREDICTIONS, SYSTEM_ALERTS

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _odds(received_at: datetime) -> OddsUpdate:
    return OddsUpdate(
        event_id="e1",
        sport="nba",
        home_team="A",
        away_team="B",
        commence_time=NOW,
        book="bk",
        market="h2h",
        outcomes=(OutcomePrice(name="A", price=1.9),),
        source="sim",
        received_at=received_at,
    )


def test_rows_prediction_columns_in_table_order() -> None:
    prediction = Prediction(
        prediction_id="p1",
        model="m",
        version="v",
        probabilities={"home": 0.6, "away": 0.4},
        confidence=0.2,
        created_at=NOW,
        event_id="e1",
        members={"xgb": {"home": 0.6}},
    )
    table, row = to_row(prediction)
    assert table is PREDICTIONS and len(row) == len(table.columns)
    values = dict(zip(table.columns, row, strict=True))
    assert values["prediction_id"] == "p1" and values["created_at"] == NOW
    assert msgspec.json.decode(str(values["probabilities"])) == {"home": 0.6, "away": 0.4}
    assert msgspec.json.decode(str(values["members"])) == {"xgb": {"home": 0.6}}


def test_rows_odds_snapshot_id_is_the_same_for_the_same_instant() -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-5)))
    (table, first), (_, second) = to_row(_odds(NOW)), to_row(_odds(elsewhere))
    assert table is ODDS_SNAPSHOTS and first[0] == second[0]
    assert to_row(_odds(NOW + timedelta(microseconds=1)))[1][0] != first[0]


def test_rows_naive_datetimes_are_taken_as_utc() -> None:
    vector = FeatureVector(
        event_id="e1",
        sport="nba",
        model="m",
        features={"x": 1.0},
        computed_at=NOW.replace(tzinfo=None),
    )
    assert to_row(vector)[1][1] == NOW


def test_rows_records_and_unknown_messages() -> None:
    alert = AlertRecord(alert_id="a1", raised_at=NOW, severity="warning", kind="k", message="m")
    table, row = to_row(alert)
    assert table is SYSTEM_ALERTS and row[:3] == ("a1", NOW, "warning")
    opportunity = OpportunityRecord(
        opportunity_id="o1",
        detected_at=NOW,
        kind="value",
        event_id="e1",
        sport="nba",
        market="h2h",
        edge=0.04,
        price=2.2,
        details={"legs": 1},
    )
    assert to_row(opportunity)[1][-1] == '{"legs":1}'
    with pytest.raises(TypeError):
        to_row("not a message")  # type: ignore[arg-type]


def test_pending_rows_seal_by_size_and_on_flush() -> None:
    pending = PendingRows(batch_rows=3)
    for i in range(7):
        pending.add(PREDICTIONS, (str(i),))
    first = pending.take()
    assert first is not None and [r[0] for r in first.rows] == ["0", "1", "2"]
    assert pending.total == 7 and pending.in_flight == 3
    pending.seal_all()
    assert [len(b.rows) for b in (pending.take(), pending.take())] == [3, 1]  # type: ignore[union-attr]
    assert pending.take() is None


def test_pending_rows_newest_batches_leave_first_and_failed_ones_go_back_to_the_front() -> None:
    pending = PendingRows(batch_rows=2)
    for i in range(8):
        pending.add(PREDICTIONS, (str(i),))
    taken = pending.take()
    assert taken is not None
    spilled = pending.newest(keep_rows=4)
    assert [[r[0] for r in b.rows] for b in spilled] == [["4", "5"], ["6", "7"]]
    pending.put_back(taken)
    again = pending.take()
    assert again is taken and pending.total == 4


def test_persister_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="two batches"):
        PersisterConfig(batch_rows=1000, max_pending_rows=1500)
    with pytest.raises(ValueError):
        PersisterConfig(writers=0)
    with pytest.raises(ValueError):
        PersisterConfig(keep_days=-1)


def test_store_public_api_names_exist_and_errors_share_a_root() -> None:
    assert [name for name in a1rt.store.__all__ if not hasattr(a1rt.store, name)] == []
    errors = [
        getattr(a1rt.store, n)
        for n in a1rt.store.__all__
        if n.endswith(("Error", "Changed", "Unavailable"))
    ]
    assert errors and all(issubclass(e, StoreError) for e in errors)
    assert issubclass(StoreError, A1rtError)
