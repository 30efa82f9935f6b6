"""The HTTP layer's Prometheus metrics, created once per registry and shared by every source."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from prometheus_client import Counter, Gauge, Histogram

from ..metrics import Metrics

# Provider calls take longer than our own handlers: up to the total timeout.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SourceMetrics:
    """Requests, retries, breaker state, cache, quota, latency and skipped records per source."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.requests = Counter(
            "a1rt_source_requests", "Provider requests sent or refused, by outcome",
            ["source", "outcome"], registry=registry,
        )  # fmt: skip
        self.retries = Counter(
            "a1rt_source_retries", "Provider requests retried, by the failure retried",
            ["source", "reason"], registry=registry,
        )  # fmt: skip
        self.breaker_state = Gauge(
            "a1rt_source_breaker_state", "Circuit breaker state: 0 closed, 1 half_open, 2 open",
            ["source"], registry=registry,
        )  # fmt: skip
        self.cache = Counter(
            "a1rt_source_cache_lookups", "Response cache lookups, by hit or miss",
            ["source", "result"], registry=registry,
        )  # fmt: skip
        self.quota_remaining = Gauge(
            "a1rt_source_quota_remaining", "Credits left in the provider's usage quota",
            ["source"], registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "a1rt_source_request_duration_seconds", "Time for one provider request",
            ["source"], buckets=REQUEST_BUCKETS, registry=registry,
        )  # fmt: skip
        self.throttled = Counter(
            "a1rt_source_rate_limit_wait_seconds", "Time spent waiting for the token bucket",
            ["source"], registry=registry,
        )  # fmt: skip
        self.skipped = Counter(
            "a1rt_source_records_skipped", "Provider records that did not parse, by reason",
            ["source", "reason"], registry=registry,
        )  # fmt: skip


_BY_METRICS: WeakKeyDictionary[Metrics, SourceMetrics] = WeakKeyDictionary()


def source_metrics(metrics: Metrics) -> SourceMetrics:
    """The HTTP layer's metrics on `metrics.registry`, registered the first time they are asked."""
    found = _BY_METRICS.get(metrics)
    if found is None:
        found = _BY_METRICS[metrics] = SourceMetrics(metrics)
    return found
