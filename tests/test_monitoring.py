"""monitoring/: the Prometheus config and alert rules pass promtool, the live /metrics text
passes `promtool check metrics`, and every metric the rules and the Grafana dashboard name is
one a1rt really exports (so a renamed metric cannot silently disarm an alert)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from a1rt.config import load_settings
from a1rt.pipeline import Runtime
from a1rt.web import create_app

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "monitoring"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install -y --no-install-recommends "
    "prometheus)",
)
# Series Prometheus itself records, not a1rt.
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan"}  # fmt: skip


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, timeout=60,
                          check=False)  # fmt: skip


@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory: pytest.TempPathFactory) -> str:
    """/metrics of an app whose every metric is registered: HTTP sources configured (their
    client metrics), storage configured (never connected: nothing runs), one request made."""
    tmp = tmp_path_factory.mktemp("monitoring")
    settings = load_settings({}, models_dir=tmp / "models", data_dir=tmp / "data",
                             sources=("simulated", "espn"))  # fmt: skip
    runtime = Runtime(settings, conninfo="postgresql://a1rt@127.0.0.1:1/a1rt", live=True)

    async def scrape() -> str:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
            await client.get("/api/v2/opportunities")
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    return anyio.run(scrape)


def exported(text: str) -> set[str]:
    """Every name a query may select in an exposition: its samples, and each family with the
    series its type implies (a histogram's _bucket, _sum and _count), samples or not yet."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()
            names.add(family)
            if kind in ("histogram", "summary"):
                names.update(f"{family}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, ranges, grouping
    clauses, functions, keywords and numbers left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+\S+", " ", text)
    text = re.sub(r"\b\d[\d.]*(?:[eE][+-]?\d+)?", " ", text)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group()
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name in KEYWORDS:
            continue
        names.add(name)
    return names


def known(name: str, names: set[str]) -> bool:
    return name in names or name in PROMETHEUS_SERIES


def rule_expressions() -> Iterator[tuple[str, str]]:
    rules = yaml.safe_load((MONITORING / "alert_rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    dashboard: dict[str, Any] = json.loads((MONITORING / "grafana" / "a1rt.json").read_text())

    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                yield panel["title"], target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        query = variable.get("definition", "")
        found = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
        if found:
            yield f"${variable['name']}", found.group(1)
    for annotation in dashboard["annotations"]["list"]:
        yield annotation["name"], annotation["expr"]


def test_the_expression_parser_finds_only_metric_names() -> None:
    expr = ('histogram_quantile(0.99, sum by (instance, le) (rate(a1rt_x_bucket{route!="/a b",'
            'le="+Inf"}[5m]))) > 0.5 and on (instance) up{job="a1rt"} == 0 or '
            'sum(rate(a1rt_y_total[1h] offset 1d)) < 3e2 * a1rt_z')  # fmt: skip
    assert metric_names(expr) == {"a1rt_x_bucket", "up", "a1rt_y_total", "a1rt_z"}


def test_every_metric_the_rules_and_dashboard_name_is_exported(live_metrics: str) -> None:
    names = exported(live_metrics)
    assert not known("a1rt_http_requests", names)  # a counter is selected by its _total name
    assert not known("a1rt_hub_subscribers_total", names)  # a gauge has none
    used = {(where, name) for where, expr in [*rule_expressions(), *dashboard_expressions()]
            for name in metric_names(expr)}  # fmt: skip
    assert len({name for _, name in used}) > 40
    missing = sorted(f"{where}: {name}" for where, name in used if not known(name, names))
    assert missing == []


def test_the_rules_cover_the_critical_warning_and_info_classes() -> None:
    rules = yaml.safe_load((MONITORING / "alert_rules.yml").read_text())
    by_severity: dict[str, set[str]] = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            by_severity.setdefault(rule["labels"]["severity"], set()).add(rule["alert"])
    assert by_severity["critical"] >= {"A1rtServiceDown", "A1rtDatabaseUnavailable",
                                       "A1rtDiskFull"}  # fmt: skip
    assert by_severity["warning"] >= {"A1rtHighErrorRate", "A1rtSlowResponses",
                                      "A1rtAccuracyDrop"}  # fmt: skip
    assert by_severity["info"] >= {"A1rtUnusualVolume", "A1rtFewOpportunities"}


def test_the_dashboard_has_every_section() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "a1rt.json").read_text())
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["System", "API", "Models", "Pipeline", "Sources", "Database"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


@needs_promtool
def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", str(MONITORING / "alert_rules.yml"))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"SUCCESS" in result.stdout


@needs_promtool
def test_promtool_accepts_the_prometheus_config() -> None:
    result = promtool("check", "config", str(MONITORING / "prometheus.yml"))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@needs_promtool
def test_promtool_accepts_the_live_metrics(live_metrics: str) -> None:
    result = promtool("check", "metrics", stdin=live_metrics.encode())
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "a1rt_http_requests_total" in live_metrics
