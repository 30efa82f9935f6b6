"""The process's Prometheus registry: HTTP, actor and application metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors import ActorStats

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip


class ActorCollector(Collector):
    """Reads every actor's counters at scrape time, so the hot path only bumps integers."""

    def __init__(self, stats: Callable[[], Iterable[ActorStats]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "a1rt_actor_mailbox_depth", "Messages waiting in the actor's mailbox", labels=["actor"]
        )
        capacity = GaugeMetricFamily(
            "a1rt_actor_mailbox_capacity", "Mailbox capacity", labels=["actor", "overflow"]
        )
        handled = CounterMetricFamily(
            "a1rt_actor_messages_handled", "Messages handled successfully", labels=["actor"]
        )
        failed = CounterMetricFamily(
            "a1rt_actor_messages_failed", "Messages whose handler raised", labels=["actor"]
        )
        dropped = CounterMetricFamily(
            "a1rt_actor_messages_dropped",
            "Messages dropped by the mailbox overflow policy",
            labels=["actor", "policy"],
        )
        refused = CounterMetricFamily(
            "a1rt_actor_messages_refused",
            "Messages offered without waiting and turned away (mailbox full or closed)",
            labels=["actor"],
        )
        dead = CounterMetricFamily(
            "a1rt_actor_dead_letters", "Messages given up on after two crashes", labels=["actor"]
        )
        restarts = CounterMetricFamily(
            "a1rt_actor_restarts", "Times the actor was restarted", labels=["actor"]
        )
        seconds = CounterMetricFamily(
            "a1rt_actor_handler_seconds", "Time spent in the handler", labels=["actor"]
        )
        for s in self._stats():
            depth.add_metric([s.name], s.depth)
            capacity.add_metric([s.name, s.overflow], s.capacity)
            handled.add_metric([s.name], s.handled)
            failed.add_metric([s.name], s.failed)
            dropped.add_metric([s.name, s.overflow], s.dropped)
            refused.add_metric([s.name], s.refused)
            dead.add_metric([s.name], s.dead_letters)
            restarts.add_metric([s.name], s.restarts)
            seconds.add_metric([s.name], s.handler_seconds)
        yield from (depth, capacity, handled, failed, dropped, refused, dead, restarts, seconds)


class Metrics:
    """One registry per process (or per app in tests), with the metrics every layer shares."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` doubles the scrape
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = Counter(
            "a1rt_http_requests", "HTTP requests answered", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.http_latency = Histogram(
            "a1rt_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip

    def watch_actors(self, stats: Callable[[], Iterable[ActorStats]]) -> None:
        """Export the actors' counters, read from `stats` at every scrape."""
        self.registry.register(ActorCollector(stats))

    def render(self) -> bytes:
        """The Prometheus text exposition of everything registered."""
        return generate_latest(self.registry)
