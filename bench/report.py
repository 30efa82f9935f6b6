"""`python -m bench report`: bench/results/*.json into summary.md and PNG plots.

The table has one row per headline figure: scenario, figure, value, target, met. "Met" is the
scenario's own verdict where it gives one (those also require a clean run: no errors, nothing
skipped), so the report never re-judges a figure more leniently than its scenario did. A
result whose shape the report does not know still gets a row saying so, rather than breaking
the report. Each result's machine, mode (full, quick, smoke), time and load are listed too,
since results from different runs (or machines) may sit side by side.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .machine import RESULTS

Doc = dict[str, Any]
PERCENTILES = ("p50_us", "p90_us", "p99_us", "p99.9_us", "max_us")


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    scenario: str
    figure: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None


def meets(value: float | None, *, under: float | None = None, at_least: float | None = None
          ) -> bool | None:  # fmt: skip
    """Whether ``value`` is under / at least the bound; None when there is no value or bound."""
    if value is None or (under is None and at_least is None):
        return None
    if under is not None and not value < under:
        return False
    return at_least is None or value >= at_least


def format_value(value: float | int | str | None, unit: str = "") -> str:
    """A figure for the table: thousands separated, 3 significant decimals at most."""
    if value is None:
        return "not measured"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "none answered"
    if abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def format_met(met: bool | None) -> str:
    """The table's last column."""
    return {True: "yes", False: "**no**", None: "—"}[met]


def _dig(doc: Doc, *keys: str | int) -> Any:
    value: Any = doc
    for key in keys:
        value = value[key]
    return value


def _errors(report: Doc | None) -> int:
    if not report:
        return 0
    skipped = int(report.get("skipped_over_max_in_flight", 0))
    return sum(int(n) for n in report.get("errors", {}).values()) + skipped


def _target_row(scenario: str, figure: str, target: Doc, unit: str) -> Row:
    """A row from a {"figure", "under"|"at_least", "met"} target."""
    bound = (f"< {format_value(target['under'], unit)}" if "under" in target
             else f">= {format_value(target['at_least'])}x")  # fmt: skip
    value = target.get("figure")
    if value is None and "not_measured" in target:
        value = f"not measured: {target['not_measured'].splitlines()[0][:120]}"
    return Row(scenario, figure, value, unit, bound, target.get("met"))


def rest_rows(doc: Doc) -> list[Row]:
    """Latency at the fixed rate, maximum throughput, the ceiling and the peers."""
    targets, ceiling, s = doc["targets"], doc["max_throughput"], "rest"
    rate = format_value(doc["config"]["predict_rate"])
    rows = [
        _target_row(s, f"predict p99 at {rate}/s, open loop", targets["predict_p99_us"], "µs"),
        Row(
            s,
            f"/health/live p99 at {rate}/s, open loop (the floor)",
            targets["predict_p99_us"].get("floor_us"),
            "µs",
        ),
        _target_row(s, "predict with explain p99, open loop", targets["explain_p99_us"], "µs"),
        Row(s, "predict max throughput, closed loop", ceiling["predict_max_per_s"], "req/s"),
        Row(s, "/health/live ceiling, closed loop", ceiling["health_live_ceiling_per_s"], "req/s"),
        _target_row(s, "predict / /health/live ceiling", targets["predict_over_ceiling"], "x"),
    ]
    if "predict_over_mlserver" in targets:
        rows.append(_target_row(s, "predict / MLServer max throughput",
                                targets["predict_over_mlserver"], "x"))  # fmt: skip
    for name, peer in doc.get("peers", {}).items():
        if "not_measured" in peer:
            rows.append(Row(s, f"{name}: not measured", peer["not_measured"].splitlines()[0][:160]))
            continue
        p99 = (peer["open_loop"].get("latency_from_intended") or {}).get("p99_us")
        rows.append(Row(s, f"{name} p99 at {rate}/s, open loop", p99, "µs",
                        f"errors+skipped {_errors(peer['open_loop'])}"))  # fmt: skip
        rows.append(Row(s, f"{name} max throughput, closed loop",
                        ceiling["peers_max_per_s"][name], "req/s"))  # fmt: skip
        if name != "mlserver" or "predict_over_mlserver" not in targets:  # else a target row
            rows.append(Row(s, f"predict / {name} max throughput",
                            ceiling["predict_over_peer"][name], "x"))  # fmt: skip
    closed = [r for name in ("predict", "health_live") for r in ceiling["runs"][name]]
    opened = ("predict_open_loop", "health_live_open_loop", "explain_open_loop")
    phases = [doc[key] for key in (*opened, "explain_closed_loop") if key in doc]
    phases += closed
    errors = sum(_errors(phase) for phase in phases)
    rows.append(Row(s, "a1rt errors + skipped, all phases", errors, "", "0", errors == 0))
    busiest = max(p.get("generator_cpu_cores", 0.0) for p in phases)
    rows.append(Row(s, "load generator CPU, busiest phase", busiest, "cores",
                    "< 0.8 (else a floor)", busiest < 0.8))  # fmt: skip
    return rows


def actors_rows(doc: Doc) -> list[Row]:
    """The actor pipeline against a bare anyio stream, and ask round trips."""
    t = doc["targets"]
    return [
        Row("actors", "actor pipeline / bare anyio stream", doc["pipeline"]["ratio"], "x",
            f">= {t['pipeline_ratio_at_least']}x", t["pipeline_met"]),
        Row("actors", "ask round trip p99", doc["ask_round_trip"]["p99_us"], "µs",
            f"< {t['ask_p99_us_under']} µs", t["ask_met"]),
    ]  # fmt: skip


def inference_rows(doc: Doc) -> list[Row]:
    """Compiled vs native speedup per model, per row and per batch."""
    bound = f">= {doc['targets']['per_row_speedup_at_least']}x"
    rows = []
    for name, model in doc["models"].items():
        rows.append(
            Row(
                "inference",
                f"{name}: compiled speedup per row (median)",
                model["per_row"]["speedup_median"],
                "x",
                bound,
                model["target_met"],
            )
        )
        batch = next(v for k, v in model.items() if k.startswith("per_batch_"))
        rows.append(
            Row(
                "inference",
                f"{name}: compiled speedup per batch (median)",
                batch["speedup_median"],
                "x",
            )
        )
    return rows  # fmt: skip


def pipeline_rows(doc: Doc) -> list[Row]:
    """Update-to-prediction latency, and a source's price change to a prediction."""
    target, source = doc["target"], doc["source_to_prediction"]
    rows = [Row("pipeline", "odds update -> prediction p99", doc["predictions_latency"]["p99_us"]
                / 1000, "ms", f"< {target['p99_ms_under']} ms", target["met"])]  # fmt: skip
    worst = source.get("price_to_prediction", {}).get("max_s")
    rows.append(
        Row(
            "pipeline",
            "source price change -> prediction, max",
            worst,
            "s",
            f"< {source['target']['max_s_under']} s",
            source["target"]["met"],
        )
    )
    return rows  # fmt: skip


def storage_rows(doc: Doc) -> list[Row]:
    """Persister rows per second, and against a bare COPY."""
    t = doc["targets"]
    return [
        Row("storage", "persister rows into PostgreSQL", doc["persister_rows_per_s"], "rows/s",
            f">= {format_value(t['rows_per_s_at_least'])}", t["rows_met"]),
        Row("storage", "persister / bare COPY", doc["ratio"], "x", f">= {t['ratio_at_least']}x",
            t["ratio_met"]),
    ]  # fmt: skip


def stream_rows(doc: Doc) -> list[Row]:
    """Fan-out rate against the bare websockets peer, and idle connections."""
    fanout, s = doc["fanout"], "stream"
    target = fanout.get("target", {})
    rows = [Row(s, f"{name} max fan-out rate per subscriber", fanout[name]["max_rate_per_s"],
                "msg/s") for name in ("a1rt", "peer") if name in fanout]  # fmt: skip
    rows.append(
        Row(
            s,
            "a1rt / peer max fan-out rate",
            fanout.get("ratio_max_rate_vs_peer"),
            "x",
            f">= {target['ratio_at_least']}x" if target else "",
            target.get("met"),
        )
    )
    for name, idle in doc.get("idle", {}).items():
        rows.append(
            Row(
                s,
                f"{name} idle memory per connection",
                idle.get("rss_per_connection_bytes"),
                "bytes",
            )
        )
        rows.append(
            Row(
                s,
                f"{name} idle connections all stayed open",
                idle.get("all_stayed_open"),
                "",
                "yes",
                idle.get("all_stayed_open"),
            )
        )
    return rows  # fmt: skip


ROWS: dict[str, Callable[[Doc], list[Row]]] = {
    "rest": rest_rows,
    "actors": actors_rows,
    "inference": inference_rows,
    "pipeline": pipeline_rows,
    "storage": storage_rows,
    "stream": stream_rows,
}


def rows_of(doc: Doc) -> list[Row]:
    """The rows of one result; one explaining row if its shape is not what the report knows."""
    scenario = doc.get("scenario", "?")
    extract = ROWS.get(scenario)
    if extract is None:
        return [Row(scenario, "no report rows for this scenario", None)]
    try:
        return extract(doc)
    except (KeyError, TypeError, IndexError, StopIteration) as exc:
        return [Row(scenario, "result not readable by the report", f"{type(exc).__name__}: {exc}")]


def load_results(results: Path) -> list[Doc]:
    """Every <scenario>.json in ``results``, in SCENARIOS order then by name."""
    docs = []
    for path in sorted(results.glob("*.json")):
        try:
            docs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            docs.append({"scenario": path.stem, "unreadable": str(path)})
    return docs


def _machine_line(machine: Doc) -> str:
    return (f"{machine.get('cores')} cores, {machine.get('cpu')}, {machine.get('memory_gib')} GiB,"
            f" Python {machine.get('python')}, {machine.get('platform')}")  # fmt: skip


def _runs_table(docs: Iterable[Doc]) -> list[str]:
    lines = ["| scenario | measured at (UTC) | mode | machine | load average at start |",
             "|---|---|---|---|---|"]  # fmt: skip
    for doc in docs:
        machine, config = doc.get("machine", {}), doc.get("config", {})
        mode = config.get("mode") or ("quick" if config.get("quick") else "full")
        load = " ".join(f"{x:.2f}" for x in machine.get("loadavg_at_start", [])[:3])
        lines.append(f"| {doc.get('scenario')} | {doc.get('measured_at', '?')} | {mode} | "
                     f"{_machine_line(machine)} | {load} |")  # fmt: skip
    return lines


def summary_markdown(docs: list[Doc]) -> str:
    """summary.md: the figures table, then which run (and machine) each result comes from."""
    lines = ["# Benchmark summary", "",
             "Generated by `python -m bench report` from `bench/results/*.json`.", "",
             "| scenario | figure | value | target | met? |", "|---|---|---|---|---|"]  # fmt: skip
    for doc in docs:
        for row in rows_of(doc):
            value = format_value(row.value, row.unit).replace("|", "/")
            lines.append(f"| {row.scenario} | {row.figure} | {value} | {row.target} | "
                         f"{format_met(row.met)} |")  # fmt: skip
    lines += ["", "## Runs", "", *_runs_table(docs), ""]
    newest = max(docs, key=lambda doc: doc.get("measured_at", ""), default={})
    if libraries := newest.get("machine", {}).get("libraries"):
        listed = ", ".join(f"{name} {version}" for name, version in sorted(libraries.items()))
        where = f"a1rt's venv at the newest run ({newest['scenario']})"
        lines += [f"Libraries in {where}: {listed}.", ""]
    lines += [
        "Plots: `latency.png` (percentiles by scenario), `throughput.png` (a1rt against "
        "its ceiling and the peers), `stream.png` (fan-out rates, when stream.json exists)."
    ]
    return "\n".join(lines) + "\n"


def latency_series(docs: list[Doc]) -> dict[str, dict[str, float]]:
    """Label -> {percentile: µs} for every latency distribution the results hold."""
    by = {doc.get("scenario"): doc for doc in docs}
    series: dict[str, dict[str, float]] = {}

    def add(label: str, summary: Doc | None) -> None:
        if summary:
            series[label] = {p: float(summary[p]) for p in PERCENTILES if p in summary}

    if rest := by.get("rest"):
        rate = format_value(rest["config"]["predict_rate"])
        add(f"rest a1rt predict {rate}/s", rest["predict_open_loop"].get("latency_from_intended"))
        if floor := rest.get("health_live_open_loop"):
            add(f"rest a1rt /health/live {rate}/s", floor.get("latency_from_intended"))
        add("rest a1rt explain", rest["explain_open_loop"].get("latency_from_intended"))
        for name, peer in rest.get("peers", {}).items():
            if "open_loop" in peer:
                add(f"rest {name} {rate}/s", peer["open_loop"].get("latency_from_intended"))
    if pipeline := by.get("pipeline"):
        add("pipeline update->prediction", pipeline.get("predictions_latency"))
    if actors := by.get("actors"):
        add("actors ask round trip", actors.get("ask_round_trip"))
    return series


def throughput_bars(doc: Doc) -> dict[str, float]:
    """Label -> requests/s for the `rest` run: a1rt, its ceiling, and each measured peer."""
    ceiling = doc["max_throughput"]
    bars = {"a1rt predict": float(ceiling["predict_max_per_s"]),
            "a1rt /health/live": float(ceiling["health_live_ceiling_per_s"])}  # fmt: skip
    bars |= {name: float(rate) for name, rate in ceiling.get("peers_max_per_s", {}).items()}
    return bars


def _plot_latency(series: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / max(1, len(series))
    for i, (label, figures) in enumerate(series.items()):
        xs = [j + i * width for j, p in enumerate(PERCENTILES) if p in figures]
        ax.bar(xs, [figures[p] for p in PERCENTILES if p in figures], width, label=label)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(PERCENTILES))])
    ax.set_xticklabels([p.removesuffix("_us") for p in PERCENTILES])
    ax.set_yscale("log")
    ax.set_ylabel("latency, µs (log)")
    ax.set_title("Latency percentiles by scenario (open loop: from the intended send time)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_bars(bars: dict[str, float], title: str, unit: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn = ax.bar(list(bars), list(bars.values()), color="tab:blue")
    ax.bar_label(drawn, labels=[format_value(v) for v in bars.values()])
    ax.set_ylabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def stream_bars(doc: Doc) -> dict[str, float]:
    """Label -> max fan-out messages/s per subscriber, a1rt and the peer."""
    fanout = doc["fanout"]
    return {name: float(fanout[name]["max_rate_per_s"] or 0.0)
            for name in ("a1rt", "peer") if name in fanout}  # fmt: skip


def write_report(results: Path = RESULTS) -> list[Path]:
    """Write summary.md and the plots into ``results``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    docs = load_results(results)
    written = [results / "summary.md"]
    written[0].write_text(summary_markdown(docs))
    if series := latency_series(docs):
        _plot_latency(series, results / "latency.png")
        written.append(results / "latency.png")
    by = {doc.get("scenario"): doc for doc in docs}
    if "rest" in by and "max_throughput" in by["rest"]:
        title = "rest: maximum throughput, closed loop, same run (a1rt: ensemble; peers: XGBoost)"
        _plot_bars(throughput_bars(by["rest"]), title, "requests/s", results / "throughput.png")
        written.append(results / "throughput.png")
    if "stream" in by and "fanout" in by["stream"]:
        bars = stream_bars(by["stream"])
        title = "stream: max fan-out rate per subscriber with no gaps and p99 < 100 ms"
        _plot_bars(bars, title, "messages/s per subscriber", results / "stream.png")
        written.append(results / "stream.png")
    return written
