"""Record-level tolerance: one malformed record is skipped and counted, the rest are used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..logs import get_logger
from ..metrics import Metrics
from ._metrics import source_metrics

log = get_logger(__name__)

T = TypeVar("T")

# What a per-record parser raises on a record it cannot read (msgspec.ValidationError is a
# ValueError; AttributeError is `.get` on a value of the wrong JSON type).
RECORD_ERRORS: tuple[type[Exception], ...] = (LookupError, TypeError, ValueError, AttributeError)
NOT_A_LIST = "NotAList"


@dataclass(slots=True)
class _Skips:
    count: int = 0
    first_index: int = 0
    detail: str = ""


def parse_records(
    source: str,
    items: object,
    parse_one: Callable[[Any], T],
    *,
    metrics: Metrics | None = None,
) -> tuple[list[T], int]:
    """Apply `parse_one` to each item; return the parsed records and how many were skipped.

    A record whose parser raises one of RECORD_ERRORS is skipped and counted by reason (the
    error's type); each reason is logged once per call with the source, a count and an example.
    `items` that is not a JSON array counts as one skipped record with reason "NotAList".
    """
    if not isinstance(items, list | tuple):
        _report(source, {NOT_A_LIST: _Skips(1, 0, f"got {type(items).__name__}")}, metrics)
        return [], 1
    parsed: list[T] = []
    skips: dict[str, _Skips] = {}
    for index, item in enumerate(items):
        try:
            parsed.append(parse_one(item))
        except RECORD_ERRORS as exc:
            _note(skips, index, exc)
    _report(source, skips, metrics)
    return parsed, sum(s.count for s in skips.values())


def _note(skips: dict[str, _Skips], index: int, exc: Exception) -> None:
    reason = type(exc).__name__
    entry = skips.get(reason)
    if entry is None:
        skips[reason] = _Skips(1, index, str(exc)[:200])
    else:
        entry.count += 1


def _report(source: str, skips: dict[str, _Skips], metrics: Metrics | None) -> None:
    for reason, entry in skips.items():
        if metrics is not None:
            source_metrics(metrics).skipped.labels(source, reason).inc(entry.count)
        log.warning(
            "records skipped",
            source=source,
            reason=reason,
            count=entry.count,
            example_index=entry.first_index,
            example=entry.detail,
        )
