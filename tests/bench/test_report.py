from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import (
    format_value,
    meets,
    rows_of,
    summary_markdown,
    throughput_bars,
    write_report,
)


def _open_loop(p99: float, errors: dict[str, int] | None = None) -> dict[str, Any]:
    return {"ok": 100, "errors": errors or {}, "skipped_over_max_in_flight": 0,
            "generator_cpu_cores": 0.3,
            "latency_from_intended": {"p50_us": p99 / 4, "p90_us": p99 / 2, "p99_us": p99,
                                      "p99.9_us": p99 * 1.5, "max_us": p99 * 2,
                                      "n": 100}}  # fmt: skip


def _closed(rate: float, errors: dict[str, int] | None = None) -> dict[str, Any]:
    return {"throughput_per_s": rate, "errors": errors or {}, "generator_cpu_cores": 0.5}


def rest_doc(mlserver: dict[str, Any] | None = None) -> dict[str, Any]:
    peers = {"mlserver": mlserver or {"open_loop": _open_loop(90_000.0, {"timeout": 3})},
             "fastapi": {"not_measured": "bench/.venvs/fastapi is not installed\nmore"},
             }  # fmt: skip
    measured = {name: 700.0 for name, peer in peers.items() if "open_loop" in peer}
    return {
        "scenario": "rest",
        "measured_at": "2026-12-01T23:00:00Z",
        "machine": {"cores": 2, "cpu": "Test CPU", "memory_gib": 4.0, "python": "3.11.7",
                    "loadavg_at_start": [1.5, 1.0, 0.5], "libraries": {"numpy": "2.4.6"}},
        "config": {"predict_rate": 1000.0, "mode": "quick"},
        "targets": {
            "predict_p99_us": {"figure": 3000.0, "under": 5000.0, "met": True, "floor_us": 2500.0},
            "explain_p99_us": {"figure": 60000.0, "under": 50000.0, "met": False},
            "predict_over_ceiling": {"figure": 0.4, "at_least": 0.5, "met": False},
            "predict_over_mlserver": {"figure": 10.0, "at_least": 10.0, "met": True},
        },
        "predict_open_loop": _open_loop(3000.0),
        "health_live_open_loop": _open_loop(2500.0),
        "explain_open_loop": _open_loop(60000.0),
        "explain_closed_loop": _closed(300.0),
        "peers": peers,
        "max_throughput": {
            "predict_max_per_s": 7000.0, "health_live_ceiling_per_s": 17500.0,
            "peers_max_per_s": measured,
            "predict_over_peer": {name: 10.0 for name in measured},
            "runs": {"predict": [_closed(7000.0)], "health_live": [_closed(17500.0, {"x": 1})],
                     **{name: [_closed(700.0)] for name in measured}},
        },
    }  # fmt: skip


def test_report_meets_checks_either_bound() -> None:
    assert meets(4999.0, under=5000.0) is True
    assert meets(5000.0, under=5000.0) is False  # "under" is strict
    assert meets(10.0, at_least=10.0) is True
    assert meets(9.99, at_least=10.0) is False
    assert meets(None, under=1.0) is None
    assert meets(1.0) is None


def test_report_format_value_keeps_units_and_missing_figures() -> None:
    assert format_value(18822.1, "req/s") == "18,822 req/s"
    assert format_value(0.342, "x") == "0.342 x"
    assert format_value(None) == "not measured"
    assert format_value(float("inf"), "µs") == "none answered"
    assert format_value(True) == "yes"


def test_report_rest_rows_carry_figures_ratios_and_verdicts() -> None:
    rows = {row.figure: row for row in rows_of(rest_doc())}
    p99 = rows["predict p99 at 1,000/s, open loop"]
    assert (p99.value, p99.target, p99.met) == (3000.0, "< 5,000 µs", True)
    assert rows["/health/live p99 at 1,000/s, open loop (the floor)"].value == 2500.0
    assert rows["predict with explain p99, open loop"].met is False
    assert rows["predict / /health/live ceiling"].value == 0.4
    assert rows["predict / /health/live ceiling"].target == ">= 0.5x"
    assert rows["predict / MLServer max throughput"].met is True
    assert rows["mlserver max throughput, closed loop"].value == 700.0
    assert rows["mlserver p99 at 1,000/s, open loop"].target == "errors+skipped 3"
    assert rows["fastapi: not measured"].value == "bench/.venvs/fastapi is not installed"
    errors = rows["a1rt errors + skipped, all phases"]  # the one error of a health_live run
    assert (errors.value, errors.met) == (1, False)


def test_report_mlserver_not_measured_is_said_and_not_met() -> None:
    doc = rest_doc({"not_measured": "pip failed"})
    doc["targets"]["predict_over_mlserver"] = {
        "figure": None,
        "at_least": 10.0,
        "met": False,
        "not_measured": "pip failed",
    }
    row = next(r for r in rows_of(doc) if r.figure == "predict / MLServer max throughput")
    assert row.value == "not measured: pip failed" and row.met is False
    assert throughput_bars(doc) == {"a1rt predict": 7000.0, "a1rt /health/live": 17500.0}


def test_report_unknown_shape_gets_an_explaining_row() -> None:
    rows = rows_of({"scenario": "storage", "ratio": 1.0})
    assert len(rows) == 1 and rows[0].figure == "result not readable by the report"
    assert "KeyError" in str(rows[0].value)


def test_report_summary_lists_every_row_and_the_machine() -> None:
    text = summary_markdown([rest_doc()])
    assert "| scenario | figure | value | target | met? |" in text
    assert "| rest | predict p99 at 1,000/s, open loop | 3,000 µs | < 5,000 µs | yes |" in text
    assert "| rest | predict / /health/live ceiling | 0.4 x | >= 0.5x | **no** |" in text
    assert "2 cores, Test CPU, 4.0 GiB, Python 3.11.7" in text
    assert "| quick | " in text and "1.50 1.00 0.50" in text


def test_report_writes_summary_and_plots(tmp_path: Path) -> None:
    (tmp_path / "rest.json").write_text(json.dumps(rest_doc()))
    stream = {"scenario": "stream", "fanout": {"a1rt": {"max_rate_per_s": 200},
              "peer": {"max_rate_per_s": 500}, "ratio_max_rate_vs_peer": 0.4,
              "target": {"ratio_at_least": 0.8, "met": False}}}  # fmt: skip
    (tmp_path / "stream.json").write_text(json.dumps(stream))
    written = {path.name for path in write_report(tmp_path)}
    assert written == {"summary.md", "latency.png", "throughput.png", "stream.png"}
    for name in ("latency.png", "throughput.png", "stream.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    summary = (tmp_path / "summary.md").read_text()
    assert "| stream | a1rt / peer max fan-out rate | 0.4 x | >= 0.8x | **no** |" in summary
