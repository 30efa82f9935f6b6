"""The tables the persister writes: columns in COPY order, their types, key and partitioning.

Each must match its CREATE TABLE in migrations/; `tests/store` checks that it does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    """A table written by COPY: its columns in row order and their PostgreSQL types (binary
    COPY needs them), its conflict key, and for a day-partitioned table its time column."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key: tuple[str, ...]
    partitioned_by: str | None = None

    @property
    def time_index(self) -> int:
        """Position of the partition column in a row (the table must be partitioned)."""
        if self.partitioned_by is None:
            raise ValueError(f"{self.name} is not partitioned")
        return self.columns.index(self.partitioned_by)


PREDICTIONS = Table(
    "predictions",
    ("prediction_id", "created_at", "model", "version", "event_id", "probabilities",
     "confidence", "members"),
    ("text", "timestamptz", "text", "text", "text", "jsonb", "float8", "jsonb"),
    key=("prediction_id", "created_at"),
    partitioned_by="created_at",
)  # fmt: skip

ODDS_SNAPSHOTS = Table(
    "odds_snapshots",
    ("snapshot_id", "received_at", "event_id", "sport", "book", "market", "home_team",
     "away_team", "commence_time", "outcomes", "source", "source_time"),
    ("text", "timestamptz", "text", "text", "text", "text", "text", "text", "timestamptz",
     "jsonb", "text", "timestamptz"),
    key=("snapshot_id", "received_at"),
    partitioned_by="received_at",
)  # fmt: skip

FEATURE_STORE = Table(
    "feature_store",
    ("feature_id", "computed_at", "event_id", "sport", "model", "features"),
    ("text", "timestamptz", "text", "text", "text", "jsonb"),
    key=("feature_id", "computed_at"),
    partitioned_by="computed_at",
)

BETTING_OPPORTUNITIES = Table(
    "betting_opportunities",
    ("opportunity_id", "detected_at", "kind", "event_id", "sport", "market", "outcome", "book",
     "price", "point", "fair_probability", "edge", "prediction_id", "details"),
    ("text", "timestamptz", "text", "text", "text", "text", "text", "text", "float8", "float8",
     "float8", "float8", "text", "jsonb"),
    key=("opportunity_id",),
)  # fmt: skip

SYSTEM_ALERTS = Table(
    "system_alerts",
    ("alert_id", "raised_at", "severity", "kind", "message", "event_id", "details"),
    ("text", "timestamptz", "text", "text", "text", "text", "jsonb"),
    key=("alert_id",),
)

EVENT_RESULTS = Table(
    "event_results",
    ("event_id", "sport", "home_team", "away_team", "home_score", "away_score", "status",
     "commence_time", "final_at", "source"),
    ("text", "text", "text", "text", "integer", "integer", "text", "timestamptz", "timestamptz",
     "text"),
    key=("event_id",),
)  # fmt: skip

WRITTEN_TABLES = (
    PREDICTIONS, ODDS_SNAPSHOTS, FEATURE_STORE, BETTING_OPPORTUNITIES, SYSTEM_ALERTS,
    EVENT_RESULTS,
)  # fmt: skip
TABLES_BY_NAME = {table.name: table for table in WRITTEN_TABLES}
PARTITIONED_TABLES = tuple(t for t in WRITTEN_TABLES if t.partitioned_by is not None)
