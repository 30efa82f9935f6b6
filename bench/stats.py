"""Percentiles from recorded latencies."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank of an ascending sequence."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values) - 1e-9)))
    return sorted_values[rank - 1]


def summary_us(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in microseconds."""
    ordered = sorted(latencies_s)
    labels = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}
    figures = {f"{k}_us": round(percentile(ordered, q) * 1e6, 2) for k, q in labels.items()}
    return figures | {"max_us": round(ordered[-1] * 1e6, 2), "n": len(ordered)}
