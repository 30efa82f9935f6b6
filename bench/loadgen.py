"""HTTP load that measures honestly, generated in a process of its own.

Open loop (a fixed rate): request i is *intended* at ``start + i / rate`` and goes out when that
time comes, whether or not earlier requests have answered. Its latency is counted from the
intended time, not from when it actually left, so a server stall (or a generator that fell
behind) shows as latency for every request scheduled during it instead of as a quiet gap: no
coordinated omission. Two more views are reported beside it: ``service`` (answer minus actual
send) and ``send_lag`` (actual send minus intended; uvloop's timers have 1 ms resolution, so a lag
below ~1 ms is the generator's granularity, and a send later than ``LATE_AFTER_S`` is counted as
late). A wait under half a millisecond becomes an immediate re-check rather than a timer, so the
generator's CPU grows with the rate (measured: ~0.3 core at 1000/s, a full core at 3000/s). At
most ``max_in_flight`` requests are outstanding; one that falls due while that many are is
skipped and counted, never silently.

Closed loop (maximum throughput): C workers each send, wait for the answer and send again until
the deadline. Every request started before the deadline is awaited and counted, and the elapsed
time runs to the last answer, so throughput = answered / elapsed has no truncated tail.

`LoadGenerator` runs a `LoadSpec` in a spawned process (its own uvloop, keep-alive connections
of `http_wire`, a lean HTTP/1.1 client) and reports the generator's own CPU use in cores,
(user + sys) / wall: a generator at ``SATURATED_CORES`` or more is flagged, since what it measured
may then be a floor on the server, not its ceiling. The scheduling arithmetic (`Schedule`,
`OpenLoopLedger`, `ClosedLoopTally`) is pure and takes the time as an argument; the drivers take
a clock, so tests run them on a fake one.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio

from . import http_wire
from .server import machine_cpu_seconds, tree_cpu_seconds
from .stats import summary_us

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Send = Callable[[], Awaitable[str | None]]  # None: the expected answer; else the error kind
LATE_AFTER_S = 0.002  # past the loop's ~1 ms timer granularity: the generator itself fell behind
SATURATED_CORES = 0.8  # a single-threaded generator this busy is (nearly) the bottleneck
START_LEAD_S = 0.005  # the first open-loop request is intended this long after the loop starts
RESULT_GRACE_S = 60.0  # spawn + imports + drain, beyond warm-up + duration + timeout


@dataclass(frozen=True)
class Schedule:
    """Open-loop send times: ``total`` requests at ``rate`` per second, the first at ``start``."""

    start: float
    rate: float
    total: int

    def intended(self, i: int) -> float:
        """When request ``i`` is meant to leave."""
        return self.start + i / self.rate

    def due_by(self, now: float) -> int:
        """How many requests are meant to have left by ``now``."""
        if now < self.start:
            return 0
        # The epsilon absorbs float error, so due_by(intended(i)) is always i + 1.
        return min(self.total, math.floor((now - self.start) * self.rate + 1e-6) + 1)


@dataclass
class OpenLoopLedger:
    """The open loop's books: what leaves when, what is skipped, and each request's latency."""

    schedule: Schedule
    max_in_flight: int
    released: int = 0  # requests whose time has come: sent or skipped
    in_flight: int = 0
    peak_in_flight: int = 0
    skipped: int = 0
    latencies: list[float] = field(default_factory=list)  # answer - intended, expected answers
    service: list[float] = field(default_factory=list)  # answer - actual send, expected answers
    send_lags: list[float] = field(default_factory=list)  # actual send - intended, all answered
    errors: Counter[str] = field(default_factory=Counter)
    last_answer: float | None = None
    per_second: dict[int, list[float]] = field(default_factory=dict)  # [answered, worst latency]

    def release(self, now: float) -> list[float]:
        """Intended times of the requests to send now; those beyond ``max_in_flight`` skip."""
        due = self.schedule.due_by(now)
        room = max(0, min(due - self.released, self.max_in_flight - self.in_flight))
        sends = [self.schedule.intended(i) for i in range(self.released, self.released + room)]
        self.skipped += due - self.released - room
        self.released = due
        self.in_flight += room
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return sends

    def next_release_in(self, now: float) -> float | None:
        """Seconds until the next request falls due (0: now), None once all have."""
        if self.released >= self.schedule.total:
            return None
        return max(0.0, self.schedule.intended(self.released) - now)

    def answered(self, intended: float, sent: float, now: float, error: str | None) -> None:
        """Book one answer (or failure) of the request intended at ``intended``."""
        self.in_flight -= 1
        self.send_lags.append(sent - intended)
        self.last_answer = now if self.last_answer is None else max(self.last_answer, now)
        second = self.per_second.setdefault(int(intended - self.schedule.start), [0, 0.0])
        second[0] += 1
        if error is None:
            self.latencies.append(now - intended)
            self.service.append(now - sent)
            second[1] = max(second[1], now - intended)
        else:
            self.errors[error] += 1

    def report(self) -> dict[str, Any]:
        """Counts, achieved rate and the three latency views, in microseconds."""
        ok = len(self.latencies)
        span = (self.last_answer or self.schedule.start) - self.schedule.start
        return {
            "target_rate_per_s": self.schedule.rate,
            "scheduled": self.schedule.total,
            "sent": self.released - self.skipped,
            "skipped_over_max_in_flight": self.skipped,
            "ok": ok,
            "errors": dict(sorted(self.errors.items())),
            "late_sends": sum(lag > LATE_AFTER_S for lag in self.send_lags),
            "achieved_rate_per_s": round(ok / span, 1) if span > 0 else 0.0,
            "max_in_flight": self.max_in_flight,
            "peak_in_flight": self.peak_in_flight,
            "latency_from_intended": _summary(self.latencies),
            "service_from_send": _summary(self.service),
            "send_lag": _summary(self.send_lags),
            "per_second": [  # by intended time: when in the run the tail happened
                {"second": s, "answered": int(n), "max_latency_us": round(worst * 1e6)}
                for s, (n, worst) in sorted(self.per_second.items())
            ],
        }


@dataclass
class ClosedLoopTally:
    """The closed loop's books: requests started before the deadline, and their answers."""

    start: float
    deadline: float
    max_requests: int
    started: int = 0
    latencies: list[float] = field(default_factory=list)  # answer - send, expected answers
    errors: Counter[str] = field(default_factory=Counter)
    finished: float | None = None  # when the last worker stopped

    def may_start(self, now: float) -> bool:
        """Whether a worker may send another request at ``now`` (and count it if so)."""
        if now >= self.deadline or self.started >= self.max_requests:
            return False
        self.started += 1
        return True

    def answered(self, sent: float, now: float, error: str | None) -> None:
        """Book one answer (or failure) of a request sent at ``sent``."""
        if error is None:
            self.latencies.append(now - sent)
        else:
            self.errors[error] += 1

    def report(self) -> dict[str, Any]:
        """Counts, throughput over the whole elapsed time, and latency in microseconds."""
        elapsed = (self.finished or self.start) - self.start
        ok = len(self.latencies)
        return {
            "started": self.started,
            "ok": ok,
            "errors": dict(sorted(self.errors.items())),
            "elapsed_s": round(elapsed, 4),
            "throughput_per_s": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
            "latency": _summary(self.latencies),
        }


def _summary(samples: list[float]) -> dict[str, float] | None:
    return summary_us(samples) if samples else None


async def open_loop(
    send: Send,
    schedule: Schedule,
    max_in_flight: int,
    *,
    clock: Clock = time.perf_counter,
    sleep: Sleep = anyio.sleep,
) -> OpenLoopLedger:
    """Send on ``schedule`` whatever has answered; return once every sent request has."""
    ledger = OpenLoopLedger(schedule, max_in_flight)

    async def one(intended: float) -> None:
        sent = clock()
        error = await send()
        ledger.answered(intended, sent, clock(), error)

    async with anyio.create_task_group() as tg:
        while True:
            for intended in ledger.release(clock()):
                tg.start_soon(one, intended)
            wait = ledger.next_release_in(clock())
            if wait is None:
                break
            await sleep(wait)
    return ledger


async def closed_loop(
    send: Send,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    *,
    clock: Clock = time.perf_counter,
) -> ClosedLoopTally:
    """``concurrency`` workers send back to back until the deadline; all answers are awaited."""
    start = clock()
    tally = ClosedLoopTally(start, start + duration_s, max_requests)

    async def worker() -> None:
        while tally.may_start(clock()):
            sent = clock()
            error = await send()
            tally.answered(sent, clock(), error)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    tally.finished = clock()
    return tally


@dataclass(frozen=True)
class Target:
    """One request, repeated: method, URL (127.0.0.1 only) and body."""

    url: str
    method: Literal["GET", "POST"] = "GET"
    body: bytes | None = None
    expect_status: int = 200
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request (e.g. Authorization)

    def __post_init__(self) -> None:
        if urlsplit(self.url).hostname != "127.0.0.1":
            raise ValueError(f"load goes to 127.0.0.1 only, not {self.url}")


@dataclass(frozen=True)
class LoadSpec:
    """One run: a target, open loop at ``rate`` or closed loop with ``concurrency``, its bounds."""

    target: Target
    mode: Literal["open", "closed"]
    duration_s: float
    warmup_s: float = 0.0  # same load first, on the same session, not measured
    rate: float = 0.0  # open loop, requests per second
    max_in_flight: int = 512  # open loop
    concurrency: int = 0  # closed loop
    max_requests: int = 5_000_000  # closed loop, a hard bound beside the duration
    timeout_s: float = 2.0  # per request; a late answer counts as "timeout"
    observe_pid: int | None = None  # a process tree whose CPU is read at the window's edges

    def __post_init__(self) -> None:
        if not (0 < self.duration_s <= 600 and 0 <= self.warmup_s <= 600):
            raise ValueError("duration_s must be in (0, 600] and warmup_s in [0, 600]")
        if self.mode == "open" and not (self.rate > 0 and self.max_in_flight >= 1):
            raise ValueError("an open loop needs rate > 0 and max_in_flight >= 1")
        if self.mode == "closed" and self.concurrency < 1:
            raise ValueError("a closed loop needs concurrency >= 1")

    def describe(self) -> dict[str, Any]:
        """The configuration, for the record."""
        keys = ["mode", "duration_s", "warmup_s", "timeout_s"]
        keys += ["rate", "max_in_flight"] if self.mode == "open" else ["concurrency"]
        described = {key: getattr(self, key) for key in keys}
        return {"method": self.target.method, "url": self.target.url} | described


def cpu_cores(cpu_s: float, wall_s: float) -> float:
    """CPU seconds over wall seconds: 1.0 is one core fully busy."""
    return round(cpu_s / wall_s, 3) if wall_s > 0 else 0.0


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuReading:
    """Wall clock and CPU seconds so far: this process, an observed process tree, the machine."""

    wall: float
    own: float
    observed: float
    machine: float

    @classmethod
    def take(cls, observe_pid: int | None) -> CpuReading:
        """Read everything now."""
        observed = tree_cpu_seconds(observe_pid) if observe_pid else 0.0
        return cls(time.perf_counter(), _own_cpu_seconds(), observed, machine_cpu_seconds())

    def usage_since(self, start: CpuReading, observed: bool) -> dict[str, Any]:
        """Cores used between ``start`` and this reading; "other" is the rest of the machine."""
        wall = self.wall - start.wall
        own, tree = self.own - start.own, self.observed - start.observed
        usage: dict[str, Any] = {"generator_cpu_cores": cpu_cores(own, wall)}
        if observed:
            usage["server_cpu_cores"] = cpu_cores(tree, wall)
            usage["other_cpu_cores"] = cpu_cores(self.machine - start.machine - own - tree, wall)
        usage["machine_cpu_cores"] = cpu_cores(self.machine - start.machine, wall)
        return usage | {"generator_saturated": own / wall >= SATURATED_CORES}


async def _phase(send: Send, spec: LoadSpec, duration_s: float) -> dict[str, Any]:
    if spec.mode == "open":
        total = max(1, round(spec.rate * duration_s))
        schedule = Schedule(time.perf_counter() + START_LEAD_S, spec.rate, total)
        return (await open_loop(send, schedule, spec.max_in_flight)).report()
    tally = await closed_loop(send, spec.concurrency, duration_s, spec.max_requests)
    return tally.report()


async def _drive(spec: LoadSpec) -> dict[str, Any]:
    target = spec.target
    pool = http_wire.Pool(target.url)
    payload = http_wire.request_bytes(target.method, target.url, target.body, target.headers)
    send = http_wire.sender(pool, payload, target.expect_status, spec.timeout_s)
    try:
        if spec.warmup_s > 0:
            await _phase(send, spec, spec.warmup_s)
        start = CpuReading.take(spec.observe_pid)
        report = await _phase(send, spec, spec.duration_s)
        usage = CpuReading.take(spec.observe_pid).usage_since(start, spec.observe_pid is not None)
    finally:
        pool.close()
    return {"config": spec.describe()} | report | usage


def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Run ``spec`` on a fresh uvloop in this process (the spawned generator's entry point)."""
    result: dict[str, Any] = anyio.run(_drive, spec, backend_options={"use_uvloop": True})
    return result


class LoadGenerator:
    """One spawned process that runs load specs one at a time, away from the caller's loop."""

    def __init__(self) -> None:
        self._pool: Any = None

    def __enter__(self) -> LoadGenerator:
        self._pool = multiprocessing.get_context("spawn").Pool(1)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.terminate()  # the worker is idle unless a run timed out; either way, bounded
        self._pool.join()

    def run(self, spec: LoadSpec) -> dict[str, Any]:
        """The report of one run; raises TimeoutError if the generator overruns its bound."""
        bound = spec.warmup_s + spec.duration_s + spec.timeout_s + RESULT_GRACE_S
        try:
            result: dict[str, Any] = self._pool.apply_async(run_load, (spec,)).get(bound)
        except multiprocessing.TimeoutError as exc:
            raise TimeoutError(f"the load generator did not finish within {bound:.0f} s") from exc
        return result
