from __future__ import annotations

from typing import Any

import msgspec
import pytest

import a1rt.sources.records as records_module
from a1rt.metrics import Metrics
from a1rt.sources import parse_records


class Score(msgspec.Struct):
    name: str
    score: str


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recording = RecordingLog()
    monkeypatch.setattr(records_module, "log", recording)
    return recording


def home_points(item: Any) -> int:
    return int(item["home_points"])


def skipped(metrics: Metrics, reason: str, source: str = "espn") -> float | None:
    return metrics.registry.get_sample_value(
        "a1rt_source_records_skipped_total", {"source": source, "reason": reason}
    )


def test_records_bad_ones_are_skipped_and_the_rest_kept(log: RecordingLog) -> None:
    metrics = Metrics()
    items = [{"home_points": 3}, {"away_points": 1}, "not a dict", {"home_points": "x"},
             {"home_points": "7"}, {}]  # fmt: skip
    parsed, skipped_count = parse_records("espn", items, home_points, metrics=metrics)
    assert parsed == [3, 7]
    assert skipped_count == 4
    assert skipped(metrics, "KeyError") == 2
    assert skipped(metrics, "TypeError") == 1
    assert skipped(metrics, "ValueError") == 1


def test_records_each_reason_is_logged_once_with_source_and_count(log: RecordingLog) -> None:
    items = [{}, {}, {}, {"home_points": "x"}]
    parse_records("espn", items, home_points)
    assert [(line["source"], line["reason"], line["count"]) for line in log.lines] == [
        ("espn", "KeyError", 3),
        ("espn", "ValueError", 1),
    ]
    assert log.lines[0]["example_index"] == 0
    assert "home_points" in log.lines[0]["example"]


def test_records_msgspec_validation_errors_are_skipped(log: RecordingLog) -> None:
    metrics = Metrics()
    items = [{"name": "Kings", "score": "113"}, {"name": "Thunder", "score": 103}]
    parsed, skipped_count = parse_records(
        "odds_api", items, lambda item: msgspec.convert(item, Score), metrics=metrics
    )
    assert parsed == [Score("Kings", "113")]
    assert skipped_count == 1
    assert skipped(metrics, "ValidationError", "odds_api") == 1


@pytest.mark.parametrize("payload", [None, {"data": []}, "oops", 3])
def test_records_a_payload_that_is_not_a_list_is_one_skip(
    log: RecordingLog, payload: object
) -> None:
    metrics = Metrics()
    assert parse_records("prizepicks", payload, home_points, metrics=metrics) == ([], 1)
    assert skipped(metrics, "NotAList", "prizepicks") == 1
    assert log.lines[0]["reason"] == "NotAList"


def test_records_clean_payload_logs_nothing(log: RecordingLog) -> None:
    parsed, skipped_count = parse_records("espn", [{"home_points": 1}], home_points)
    assert (parsed, skipped_count) == ([1], 0)
    assert log.lines == []


def test_records_a_parser_bug_is_not_hidden(log: RecordingLog) -> None:
    def broken(item: Any) -> int:
        raise RuntimeError("bug in the parser")

    with pytest.raises(RuntimeError):
        parse_records("espn", [{}], broken)
