"""The storage metrics: rows by fate, the connection pool, query latency by statement."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..metrics import LATENCY_BUCKETS

PoolStats = Callable[[], dict[str, int] | None]


class StorageMetrics:
    """Counters the persister bumps once per batch, and gauges read at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

        def rows(name: str, doc: str) -> Counter:
            return Counter(f"a1rt_storage_rows_{name}", doc, ["table"], registry=registry)

        self.written = rows("written", "Rows confirmed in PostgreSQL")
        self.retried = rows("retried", "Rows in batches written again after a failed attempt")
        self.journalled = rows("journalled", "Rows spilled to the on-disk journal")
        self.replayed = rows("replayed", "Rows read back from the journal to be written")
        self.duplicates = rows("duplicates", "Rows already in PostgreSQL when written again")
        self.rejected = rows("rejected", "Rows PostgreSQL refused as invalid (logged, not kept)")
        self.query_seconds = Histogram(
            "a1rt_storage_query_duration_seconds", "Time to run a storage statement",
            ["statement"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.pending = Gauge(
            "a1rt_storage_rows_pending", "Rows told but neither written nor journalled yet",
            registry=registry,
        )  # fmt: skip
        self.journal_bytes = Gauge(
            "a1rt_storage_journal_bytes", "Bytes waiting in the on-disk journal", registry=registry
        )
        self._pool = _PoolCollector()
        registry.register(self._pool)

    def watch_pending(self, pending: Callable[[], int], journal_bytes: Callable[[], int]) -> None:
        """Read the pending rows and journal size from these at every scrape."""
        self.pending.set_function(lambda: float(pending()))
        self.journal_bytes.set_function(lambda: float(journal_bytes()))

    def watch_pool(self, stats: PoolStats) -> None:
        """Read the pool's counters from `stats` (None while there is no pool) at every scrape."""
        self._pool.stats = stats


class _PoolCollector(Collector):
    def __init__(self) -> None:
        self.stats: PoolStats = lambda: None

    def collect(self) -> Iterator[Metric]:
        stats = self.stats()
        if stats is None:
            return
        size = stats.get("pool_size", 0)
        available = stats.get("pool_available", 0)
        for name, doc, value in (
            ("size", "Connections the pool holds", size),
            ("in_use", "Connections lent out", size - available),
            ("waiting", "Requests waiting for a connection", stats.get("requests_waiting", 0)),
        ):
            yield GaugeMetricFamily(f"a1rt_storage_pool_{name}", doc, value=value)
