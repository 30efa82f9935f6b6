"""Alerts: the rules that raise them, and their lifecycle (dedup, cooldown, resolution).

A rule returns the conditions that hold now, each with a stable key. `AlertBook.reconcile`
turns them into alerts:
- a condition that starts holding raises an alert (an AlertRecord with a fresh id);
- while it keeps holding nothing new is raised (deduplicated and counted), unless its
  severity rises, which raises it again at the higher severity at once;
- when it stops holding, the alert resolves (a second record, `state: resolved`, naming it);
- a key raised again within `cooldown` seconds of its last raise waits for the cooldown to
  pass (counted as suppressed), so a flapping condition cannot flood the channel.

The rules (system): a source's breaker open; a source's data lag over its threshold; an actor
restarting faster than a rate; a model's rolling live log loss drifting above its evaluation;
prediction latency p99 over target; the data disk nearly full. Steam (line moves) goes
through the same book.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors import ActorStats

from ..store import AlertRecord
from .source_status import SourceStatus

Severity = Literal["info", "warning", "critical"]
RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Condition:
    """Something wrong (or notable) right now; `key` identifies it across checks."""

    key: str
    kind: str
    severity: Severity
    message: str
    event_id: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Alert:
    """One raised alert and what became of it."""

    record: AlertRecord
    key: str
    raised_mono: float
    status: Literal["active", "resolved"] = "active"
    resolved_at: datetime | None = None
    occurrences: int = 1  # checks that found the condition while this alert was active

    def as_dict(self) -> dict[str, object]:
        r = self.record
        return {
            "alert_id": r.alert_id, "raised_at": r.raised_at, "severity": r.severity,
            "kind": r.kind, "message": r.message, "event_id": r.event_id,
            "details": r.details, "key": self.key, "status": self.status,
            "resolved_at": self.resolved_at, "occurrences": self.occurrences,
        }  # fmt: skip


def alert_id(key: str, at: datetime) -> str:
    """A producer-chosen id: the same raise told twice is stored once."""
    return hashlib.blake2b(f"{key}\x1f{at.isoformat()}".encode(), digest_size=12).hexdigest()


class AlertBook:
    """Every alert's state, and the recent ones (active first) for `GET /api/v2/alerts`."""

    def __init__(self, *, cooldown: float, keep: int = 1000) -> None:
        self.cooldown = cooldown
        self.active: dict[str, Alert] = {}
        self.recent: deque[Alert] = deque(maxlen=keep)
        self._last_raised: dict[str, float] = {}
        self.deduplicated = 0
        self.suppressed = 0

    def reconcile(
        self,
        holding: Iterable[Condition],
        *,
        now: float,
        at: datetime,
        kinds: Collection[str] | None = None,
        resolve: bool = True,
    ) -> list[AlertRecord]:
        """Apply what holds now; active alerts of `kinds` (None: every kind) that no longer
        hold resolve (unless `resolve` is False). Returns the records to publish and store."""
        out: list[AlertRecord] = []
        seen: set[str] = set()
        for condition in holding:
            seen.add(condition.key)
            record = self._holds(condition, now, at)
            if record is not None:
                out.append(record)
        if resolve:
            for key, alert in list(self.active.items()):
                if key not in seen and (kinds is None or alert.record.kind in kinds):
                    out.append(self._resolve(key, alert, at))
        return out

    def _holds(self, condition: Condition, now: float, at: datetime) -> AlertRecord | None:
        current = self.active.get(condition.key)
        if current is not None and RANK[condition.severity] <= RANK[current.record.severity]:
            current.occurrences += 1
            self.deduplicated += 1
            return None
        if current is None:
            last = self._last_raised.get(condition.key)
            if last is not None and now - last < self.cooldown:
                self.suppressed += 1
                return None
        else:  # escalated: the lower-severity alert is superseded, not resolved
            current.status = "resolved"
            current.resolved_at = at
        record = AlertRecord(
            alert_id=alert_id(condition.key, at), raised_at=at, severity=condition.severity,
            kind=condition.kind, message=condition.message, event_id=condition.event_id,
            details={**condition.details, "key": condition.key, "state": "active",
                     **({} if current is None else {"supersedes": current.record.alert_id})},
        )  # fmt: skip
        alert = Alert(record, condition.key, now)
        self.active[condition.key] = alert
        self.recent.append(alert)
        self._last_raised[condition.key] = now
        return record

    def _resolve(self, key: str, alert: Alert, at: datetime) -> AlertRecord:
        del self.active[key]
        alert.status = "resolved"
        alert.resolved_at = at
        raised = alert.record
        return AlertRecord(
            alert_id=alert_id(f"{key}\x1fresolved", at), raised_at=at, severity=raised.severity,
            kind=raised.kind, message=f"resolved: {raised.message}", event_id=raised.event_id,
            details={"key": key, "state": "resolved", "resolves": raised.alert_id,
                     "active_seconds": (at - raised.raised_at).total_seconds()},
        )  # fmt: skip

    def alerts(self) -> list[Alert]:
        """The recent alerts, newest first."""
        return list(reversed(self.recent))


# --- rules -----------------------------------------------------------------------------------


def source_conditions(statuses: Iterable[SourceStatus], *, max_lag: float) -> list[Condition]:
    """A breaker open (critical) and data lag over `max_lag` seconds (warning), per source."""
    found = []
    for s in statuses:
        if s.state == "open":
            found.append(Condition(
                f"breaker:{s.name}", "source_breaker_open", "critical",
                f"source {s.name}: circuit breaker open ({s.last_error or 'failing'})",
                details={"source": s.name, "last_error": s.last_error},
            ))  # fmt: skip
        if s.lag_seconds is not None and s.lag_seconds > max_lag:
            found.append(Condition(
                f"lag:{s.name}", "data_lag", "warning",
                f"source {s.name}: data lag {s.lag_seconds:.1f}s over {max_lag:g}s",
                details={"source": s.name, "lag_seconds": s.lag_seconds, "threshold": max_lag},
            ))  # fmt: skip
    return found


class RestartRate:
    """Actors restarting more than `limit` times within `window` seconds (critical at twice)."""

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def conditions(self, stats: Iterable[ActorStats], now: float) -> list[Condition]:
        found = []
        for s in stats:
            marks = self._seen.setdefault(s.name, deque())
            marks.append((now, s.restarts))
            while len(marks) > 1 and marks[1][0] <= now - self.window:
                marks.popleft()  # keep the count in force when the window opened
            recent = s.restarts - marks[0][1]
            if recent > self.limit:
                severity: Severity = "critical" if recent > 2 * self.limit else "warning"
                found.append(Condition(
                    f"restarts:{s.name}", "actor_restarts", severity,
                    f"actor {s.name}: {recent} restarts in {self.window:g}s "
                    f"(limit {self.limit})",
                    details={"actor": s.name, "restarts": recent, "window": self.window,
                             "limit": self.limit},
                ))  # fmt: skip
        return found


class DriftMonitor:
    """Each model's rolling live log loss (its latest pre-game prediction of each finished
    event) against the log loss of its evaluation: over by more than `tolerance` (relative)
    is a warning, by twice that critical, once `min_samples` events have finished."""

    def __init__(self, *, window: int, min_samples: int, tolerance: float) -> None:
        self.window = window
        self.min_samples = min_samples
        self.tolerance = tolerance
        self.losses: dict[str, deque[float]] = {}

    def add(self, model: str, probability: float) -> None:
        """The probability the model gave to what happened."""
        clipped = min(max(probability, 1e-15), 1.0)
        self.losses.setdefault(model, deque(maxlen=self.window)).append(-math.log(clipped))

    def live_log_loss(self, model: str) -> float | None:
        losses = self.losses.get(model)
        return math.fsum(losses) / len(losses) if losses else None

    def conditions(self, evaluated: Callable[[str], float | None]) -> list[Condition]:
        found = []
        for model, losses in self.losses.items():
            reference = evaluated(model)
            if reference is None or reference <= 0 or len(losses) < self.min_samples:
                continue
            live = math.fsum(losses) / len(losses)
            ratio = live / reference - 1.0
            if ratio <= self.tolerance:
                continue
            severity: Severity = "critical" if ratio > 2 * self.tolerance else "warning"
            found.append(Condition(
                f"drift:{model}", "model_drift", severity,
                f"model {model}: live log loss {live:.4f} over {len(losses)} events is "
                f"{ratio:.0%} above its evaluation's {reference:.4f}",
                details={"model": model, "live_log_loss": live, "evaluation_log_loss": reference,
                         "samples": len(losses), "tolerance": self.tolerance},
            ))  # fmt: skip
        return found


Buckets = dict[tuple[tuple[str, str], ...], dict[float, float]]


class LatencyWindow:
    """The p99 of a Prometheus histogram over the last `window` seconds, per label set,
    estimated as `histogram_quantile` does (linear within the bucket), from the difference of
    its cumulative buckets now and at the window's start. Below `min_count` calls it is not
    judged (one slow first call is no trend)."""

    def __init__(self, registry: CollectorRegistry | None, metric: str, *, target: float,
                 window: float = 60.0, min_count: int = 20) -> None:  # fmt: skip
        # Only this metric's collector (and the custom ones, which have no names to select
        # by): collecting the whole registry each tick took ~4 ms of the event loop.
        self.registry = None if registry is None else registry.restricted_registry(
            [f"{metric}_bucket"])  # fmt: skip
        self.metric = metric
        self.target = target
        self.window = window
        self.min_count = min_count
        self._snapshots: deque[tuple[float, Buckets]] = deque()

    def _snapshot(self) -> Buckets:
        buckets: Buckets = {}
        if self.registry is None:
            return buckets
        for family in self.registry.collect():
            if family.name != self.metric:
                continue
            for sample in family.samples:
                if sample.name != f"{self.metric}_bucket":
                    continue
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                buckets.setdefault(labels, {})[float(sample.labels["le"])] = sample.value
        return buckets

    def p99(self, now: float) -> dict[tuple[tuple[str, str], ...], tuple[float | None, float]]:
        """(p99, calls) per label set over the window ending now."""
        current = self._snapshot()
        self._snapshots.append((now, current))
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= now - self.window:
            self._snapshots.popleft()
        start = self._snapshots[0][1] if len(self._snapshots) > 1 else {}
        found = {}
        for labels, cumulative in current.items():
            before = start.get(labels, {})
            window = {le: count - before.get(le, 0.0) for le, count in cumulative.items()}
            found[labels] = (quantile(0.99, window), window.get(math.inf, 0.0))
        return found

    def conditions(self, now: float) -> list[Condition]:
        found = []
        for labels, (p99, total) in self.p99(now).items():
            if p99 is None or total < self.min_count or p99 <= self.target:
                continue
            name = ",".join(v for _, v in labels) or self.metric
            severity: Severity = "critical" if p99 > 2 * self.target else "warning"
            found.append(Condition(
                f"latency:{name}", "prediction_latency", severity,
                f"prediction latency p99 {p99 * 1000:.1f} ms over the {self.target * 1000:g} ms "
                f"target ({name}, {int(total)} calls in {self.window:g}s)",
                details={"labels": dict(labels), "p99_seconds": p99, "target": self.target,
                         "count": total, "window": self.window},
            ))  # fmt: skip
        return found


def disk_conditions(path: Path, *, min_free: float) -> list[Condition]:
    """The data directory's disk with less than `min_free` of it free (critical)."""
    usage = _disk_usage(path)
    if usage is None:
        return []
    free = usage.free / usage.total if usage.total else 1.0
    if free >= min_free:
        return []
    return [Condition(
        f"disk:{path}", "disk_full", "critical",
        f"disk of {path}: {free:.1%} free, under {min_free:.0%}",
        details={"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total},
    )]  # fmt: skip


def _disk_usage(path: Path) -> Any:
    """The disk usage of `path`, or of its nearest existing parent (not created yet)."""
    for candidate in (path, *path.resolve().parents):
        try:
            return shutil.disk_usage(candidate)
        except OSError:
            continue
    return None


class DiskCollector(Collector):
    """`a1rt_disk_free_bytes` and `a1rt_disk_total_bytes` of the data directory's disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        usage = _disk_usage(self.path)
        if usage is None:
            return
        for name, doc, value in (
            ("free", "Bytes free on the data directory's disk", usage.free),
            ("total", "Size of the data directory's disk", usage.total),
        ):
            family = GaugeMetricFamily(f"a1rt_disk_{name}_bytes", doc, labels=["path"])
            family.add_metric([str(self.path)], float(value))
            yield family


def quantile(q: float, cumulative: Mapping[float, float]) -> float | None:
    """The q-quantile of cumulative bucket counts {upper bound: count}, interpolated linearly
    within its bucket (the top bucket's lower bound if it lands in +Inf)."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return None
    rank = q * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * ((rank - below) / (count - below) if count > below
                                              else 1.0)  # fmt: skip
        lower, below = bound, count
    return lower
