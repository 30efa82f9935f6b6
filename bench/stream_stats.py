"""The stream bench's books: latency histograms, gaps by `seq`, a step's verdict, the rate search.

Everything here is pure and takes its inputs (times included) as arguments, so the tests can
drive it with made-up stamps.

`LatencyHistogram` is HDR-style: values in microseconds go into log-linear buckets, exact below
256 µs and within 1/128 (< 0.8 %) above, so a million samples cost a few hundred counters and
histograms from several client processes merge by adding counts. A percentile is reported as
the highest value its bucket holds (HDR's "highest equivalent value"), capped by the exact max,
so a figure is never better than what was measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUB_BITS = 7  # 128 sub-buckets per power of two above the exact range
EXACT = 1 << (SUB_BITS + 1)  # values below this (µs) have a bucket each
QUANTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}
P99_LIMIT_US = 100_000.0  # the target: p99 under 100 ms


def bucket_of(value_us: int) -> int:
    """The bucket index of a non-negative value in microseconds."""
    if value_us < EXACT:
        return value_us
    shift = value_us.bit_length() - SUB_BITS - 1
    return (shift << SUB_BITS) + (value_us >> shift)


def bucket_top(index: int) -> int:
    """The highest value (µs) bucket ``index`` holds."""
    if index < EXACT:
        return index
    shift = (index >> SUB_BITS) - 1
    mantissa = index - (shift << SUB_BITS)
    return ((mantissa + 1) << shift) - 1


@dataclass
class LatencyHistogram:
    """Counts of latencies in HDR-style buckets, with the exact max and negatives counted."""

    counts: dict[int, int] = field(default_factory=dict)
    n: int = 0
    max_us: int = 0
    total_us: int = 0
    negative: int = 0  # receipt before the stamp: clocks disagree (never on one machine)

    def record_ns(self, latency_ns: int) -> None:
        """Book one latency given in nanoseconds."""
        if latency_ns < 0:
            self.negative += 1
            latency_ns = 0
        value = latency_ns // 1000
        index = bucket_of(value)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.n += 1
        self.total_us += value
        if value > self.max_us:
            self.max_us = value

    def merge(self, other: LatencyHistogram) -> None:
        """Add ``other``'s samples to this one."""
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + count
        self.n += other.n
        self.total_us += other.total_us
        self.max_us = max(self.max_us, other.max_us)
        self.negative += other.negative

    def percentile_us(self, q: float) -> int:
        """The q-th percentile (0-100) by nearest rank, as its bucket's highest value."""
        if self.n == 0:
            raise ValueError("no values")
        rank = max(1, min(self.n, math.ceil(q / 100 * self.n - 1e-9)))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(bucket_top(index), self.max_us)
        return self.max_us  # unreachable: the counts add up to n

    def summary(self) -> dict[str, float] | None:
        """p50/p90/p99/p99.9/max (and the mean) in microseconds, as `summary_us` labels them."""
        if self.n == 0:
            return None
        figures: dict[str, float] = {f"{k}_us": self.percentile_us(q) for k, q in QUANTILES.items()}
        return figures | {"max_us": self.max_us, "mean_us": round(self.total_us / self.n, 1),
                          "n": self.n}  # fmt: skip

    def to_wire(self) -> dict[str, Any]:
        """A plain dict to send between processes."""
        return {"counts": self.counts, "n": self.n, "max_us": self.max_us,
                "total_us": self.total_us, "negative": self.negative}  # fmt: skip

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> LatencyHistogram:
        """The inverse of `to_wire`."""
        return cls(dict(wire["counts"]), wire["n"], wire["max_us"], wire["total_us"],
                   wire["negative"])  # fmt: skip


@dataclass
class SeqTracker:
    """One connection's position in one channel: any jump in `seq` is a gap."""

    last: int | None = None
    gaps: int = 0  # jumps
    missed: int = 0  # messages the jumps skipped
    out_of_order: int = 0  # a seq at or below the last one (a duplicate or a reorder)

    def observe(self, seq: int) -> int:
        """Book an update's seq; how many messages it shows were skipped (0 if none)."""
        if self.last is None or seq == self.last + 1:
            self.last = seq
            return 0
        if seq <= self.last:
            self.out_of_order += 1
            return 0
        skipped = seq - self.last - 1
        self.gaps += 1
        self.missed += skipped
        self.last = seq
        return skipped


@dataclass
class StepTally:
    """What clients received of one measured step, mergeable across connections and processes."""

    received: int = 0
    gaps: int = 0
    seq_missed: int = 0
    conflated: int = 0  # frames flagged `con: true`
    out_of_order: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def merge(self, other: StepTally) -> None:
        """Add ``other`` to this tally."""
        self.received += other.received
        self.gaps += other.gaps
        self.seq_missed += other.seq_missed
        self.conflated += other.conflated
        self.out_of_order += other.out_of_order
        self.latency.merge(other.latency)

    def to_wire(self) -> dict[str, Any]:
        """A plain dict to send between processes."""
        return {"received": self.received, "gaps": self.gaps, "seq_missed": self.seq_missed,
                "conflated": self.conflated, "out_of_order": self.out_of_order,
                "latency": self.latency.to_wire()}  # fmt: skip

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> StepTally:
        """The inverse of `to_wire`."""
        return cls(wire["received"], wire["gaps"], wire["seq_missed"], wire["conflated"],
                   wire["out_of_order"], LatencyHistogram.from_wire(wire["latency"]))  # fmt: skip


def merged(tallies: Iterable[StepTally]) -> StepTally:
    """One tally adding up ``tallies``."""
    total = StepTally()
    for tally in tallies:
        total.merge(tally)
    return total


def verdict(tally: StepTally, expected: int, closed: int) -> list[str]:
    """Why a step fails the target (empty: it passes): every message arrived, in sequence,
    none conflated, no connection lost, and p99 under 100 ms."""
    reasons = []
    if tally.received < expected:
        reasons.append(f"missing {expected - tally.received} of {expected}")
    if tally.gaps or tally.conflated:
        reasons.append(f"{tally.gaps} seq gaps, {tally.conflated} conflated frames")
    if closed:
        reasons.append(f"{closed} connections closed")
    if tally.latency.n == 0:
        reasons.append("nothing received")
    elif tally.latency.percentile_us(99.0) >= P99_LIMIT_US:
        reasons.append(f"p99 {tally.latency.percentile_us(99.0) / 1e3:.1f} ms >= 100 ms")
    return reasons


@dataclass
class RateSearch:
    """The highest passing rate: up the ladder until the first failure, then ``refine``
    bisections between the best pass and the lowest failure (whole rates, so it stops early
    when they are adjacent). A first rung that fails ends the search with no passing rate."""

    ladder: tuple[float, ...]
    refine: int = 0
    best: float | None = None  # highest rate that passed
    lowest_failure: float | None = None
    tried: list[tuple[float, bool]] = field(default_factory=list)

    def next_rate(self) -> float | None:
        """The rate to measure next, or None when the search is over."""
        if self.lowest_failure is None:
            done = {rate for rate, _ in self.tried}
            rest = [rate for rate in self.ladder if rate not in done]
            return rest[0] if rest else None
        if self.best is None:
            return None
        bisections = len(self.tried) - self._ladder_steps()
        middle = math.floor((self.best + self.lowest_failure) / 2)
        if bisections >= self.refine or middle <= self.best:
            return None
        return float(middle)

    def record(self, rate: float, passed: bool) -> None:
        """Book the outcome of measuring ``rate``."""
        self.tried.append((rate, passed))
        if passed:
            self.best = rate if self.best is None else max(self.best, rate)
        elif self.lowest_failure is None or rate < self.lowest_failure:
            self.lowest_failure = rate

    def _ladder_steps(self) -> int:
        """How many outcomes came from the ladder: up to and including the first failure."""
        for i, (_, passed) in enumerate(self.tried):
            if not passed:
                return i + 1
        return len(self.tried)
