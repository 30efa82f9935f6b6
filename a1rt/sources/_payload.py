"""Small readers the providers share to turn payload fields into typed values.

Each raises one of RECORD_ERRORS (records.py) on a value it cannot read, so that parse_records
skips the record and counts it under the error's type: the text readers differ only in which
type that is (`text` a TypeError, `nonempty` a ValueError), and callers keep theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..metrics import Metrics
from ._exceptions import SourceError
from .records import parse_records
from .response import SourceResponse

T = TypeVar("T")


@dataclass(slots=True)
class Reader:
    """Runs parse_records at every level of one payload and adds up what was skipped."""

    source: str
    metrics: Metrics | None
    skipped: int = 0

    def each(self, items: object, parse_one: Callable[[Any], T]) -> list[T]:
        parsed, skipped = parse_records(self.source, items, parse_one, metrics=self.metrics)
        self.skipped += skipped
        return parsed


def data_of(answer: SourceResponse | SourceError) -> Any:
    """The data of one answer of `SourceClient.get_json_many`; raises it when it failed."""
    if isinstance(answer, SourceError):
        raise answer
    return answer.data


def text(record: Mapping[str, Any], key: str) -> str:
    """`record[key]` as a non-empty string; KeyError when absent, TypeError otherwise."""
    value = record[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} = {value!r} is not a non-empty string")
    return value


def nonempty(value: object) -> str:
    """`value` as a non-empty string; ValueError when it is not one."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def number(value: object, name: str) -> int | float:
    """`value` when it is a JSON number (not a boolean); TypeError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} = {value!r} is not a number")
    return value


def iso_time(value: object, name: str = "time") -> datetime:
    """An aware UTC datetime from an ISO 8601 string (naive taken as UTC); TypeError naming
    `name` when `value` is not a string, ValueError when it is not ISO 8601."""
    if not isinstance(value, str):
        raise TypeError(f"{name} = {value!r} is not an ISO string")
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def optional_time(value: object) -> datetime | None:
    """A provider timestamp that is only metadata: as UTC when it is a readable ISO string,
    None otherwise (never an error)."""
    if not isinstance(value, str):
        return None
    try:
        return iso_time(value)
    except ValueError:
        return None
