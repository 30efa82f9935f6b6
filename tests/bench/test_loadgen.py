from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.lowlevel
import pytest

from bench.loadgen import (
    LATE_AFTER_S,
    ClosedLoopTally,
    LoadSpec,
    OpenLoopLedger,
    Schedule,
    Target,
    closed_loop,
    cpu_cores,
    open_loop,
)
from bench.stats import percentile

T = TypeVar("T")
Send = Callable[[], Awaitable["str | None"]]


class FakeClock:
    """Virtual time for the drivers: sleeping tasks wake in time order, and time jumps to the
    next wake-up only once every runnable task has run (a small discrete-event simulator)."""

    SETTLE = 30  # loop iterations that let every woken task run to its next sleep

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = anyio.Event()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._order), wake))
        await wake.wait()

    async def sleep_until(self, when: float) -> None:
        await self.sleep(when - self.now)

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        return anyio.run(self._drive, main)

    async def _drive(self, main: Callable[[], Awaitable[T]]) -> T:
        results: list[T] = []

        async def body() -> None:
            results.append(await main())

        async with anyio.create_task_group() as tg:
            tg.start_soon(body)
            while True:
                for _ in range(self.SETTLE):
                    await anyio.lowlevel.checkpoint()
                if results:
                    return results[0]
                assert self._timers, "deadlock: nothing runnable and no timer pending"
                when, _, wake = heapq.heappop(self._timers)
                self.now = max(self.now, when)
                wake.set()
        raise AssertionError("unreachable")


def stalling_server(clock: FakeClock, service_s: float, stall: tuple[float, float]) -> Send:
    """A server answering in ``service_s``, except that nothing answers during ``stall``:
    a request arriving in it (or still in service when it begins) waits for its end."""

    async def send() -> str | None:
        done = clock.now + service_s
        if stall[0] < done and clock.now < stall[1]:
            done = max(done, stall[1] + service_s)
        await clock.sleep_until(done)
        return None

    return send


def test_loadgen_schedule_spaces_intended_times_evenly_from_start() -> None:
    schedule = Schedule(start=10.0, rate=1000.0, total=5)
    assert [schedule.intended(i) for i in range(3)] == pytest.approx([10.0, 10.001, 10.002])


def test_loadgen_schedule_counts_a_request_due_exactly_at_its_intended_time() -> None:
    schedule = Schedule(start=12345.678, rate=1000.0, total=100)
    assert schedule.due_by(12345.6779) == 0
    assert [schedule.due_by(schedule.intended(i)) for i in range(100)] == list(range(1, 101))
    assert schedule.due_by(schedule.intended(7) + 0.0009) == 8
    assert schedule.due_by(1e9) == 100  # never more than scheduled


def test_loadgen_ledger_charges_latency_from_intended_time_not_from_send() -> None:
    ledger = OpenLoopLedger(Schedule(start=0.0, rate=100.0, total=3), max_in_flight=10)
    assert ledger.release(0.025) == pytest.approx([0.0, 0.01, 0.02])  # the generator woke late
    ledger.answered(0.0, sent=0.025, now=0.026, error=None)
    assert ledger.latencies == pytest.approx([0.026])
    assert ledger.service == pytest.approx([0.001])
    assert ledger.send_lags == pytest.approx([0.025])
    assert ledger.report()["late_sends"] == 1 and 0.025 > LATE_AFTER_S


def test_loadgen_ledger_skips_and_counts_requests_beyond_max_in_flight() -> None:
    ledger = OpenLoopLedger(Schedule(start=0.0, rate=1000.0, total=10), max_in_flight=3)
    assert len(ledger.release(0.0045)) == 3  # five due, room for three
    assert ledger.skipped == 2 and ledger.in_flight == 3
    ledger.answered(0.0, sent=0.0, now=0.005, error="timeout")
    assert len(ledger.release(0.0055)) == 1  # one more due, one slot free
    report = ledger.report()
    assert report["sent"] == 4 and report["skipped_over_max_in_flight"] == 2
    assert report["errors"] == {"timeout": 1} and report["ok"] == 0


def test_loadgen_open_loop_shows_a_server_stall_as_latency_of_requests_scheduled_in_it() -> None:
    clock = FakeClock()
    send = stalling_server(clock, service_s=0.0005, stall=(0.5, 0.7))
    schedule = Schedule(start=0.0, rate=1000.0, total=1000)
    ledger = clock.run(lambda: open_loop(send, schedule, 1000, clock=clock, sleep=clock.sleep))

    report = ledger.report()
    assert report["sent"] == report["ok"] == 1000
    assert report["skipped_over_max_in_flight"] == 0 and report["late_sends"] == 0
    # Every request intended in [0.5, 0.7) waits for the stall's end: 0.7005 - intended...
    stalled = [0.7005 - schedule.intended(i) for i in range(500, 700)]
    assert sorted(x for x in ledger.latencies if x > 0.001) == pytest.approx(sorted(stalled))
    # ...and was still sent on time: the loop kept sending through the stall.
    assert ledger.peak_in_flight == 201  # the 200 stalled and the one sent at 0.7
    assert max(ledger.send_lags) == pytest.approx(0.0)
    assert percentile(sorted(ledger.latencies), 99) > 0.15  # the stall owns the tail
    assert percentile(sorted(ledger.latencies), 50) == pytest.approx(0.0005)
    assert [s["answered"] for s in report["per_second"]] == [1000]
    assert report["per_second"][0]["max_latency_us"] == 200500


def test_loadgen_open_loop_charges_a_late_generator_to_latency() -> None:
    clock = FakeClock()

    async def oversleep(seconds: float) -> None:  # a generator whose timer wakes 5 ms late
        await clock.sleep(seconds + 0.005)

    async def send() -> str | None:
        await clock.sleep(0.001)
        return None

    schedule = Schedule(start=0.0, rate=100.0, total=50)
    ledger = clock.run(lambda: open_loop(send, schedule, 100, clock=clock, sleep=oversleep))
    assert ledger.report()["ok"] == 50
    assert min(ledger.latencies) == pytest.approx(0.001)  # the very first was on time
    assert sorted(ledger.latencies)[1:] == pytest.approx([0.006] * 49)
    assert sorted(ledger.service) == pytest.approx([0.001] * 50)
    assert ledger.report()["late_sends"] == 49


def test_loadgen_open_loop_bounded_by_max_in_flight_counts_what_it_skips() -> None:
    clock = FakeClock()
    send = stalling_server(clock, service_s=0.001, stall=(0.1, 0.3))
    schedule = Schedule(start=0.0, rate=1000.0, total=400)
    ledger = clock.run(lambda: open_loop(send, schedule, 50, clock=clock, sleep=clock.sleep))
    report = ledger.report()
    assert report["peak_in_flight"] == 50
    assert report["sent"] + report["skipped_over_max_in_flight"] == 400
    assert 140 <= report["skipped_over_max_in_flight"] <= 160  # ~200 due in the stall, 50 sent
    assert report["ok"] == report["sent"]


def test_loadgen_closed_loop_counts_every_started_request_and_the_tail() -> None:
    clock = FakeClock()

    async def send() -> str | None:
        await clock.sleep(0.003)
        return None

    tally = clock.run(lambda: closed_loop(send, 4, 0.1, 10_000, clock=clock))
    report = tally.report()
    # Each worker starts at 0, 3, ..., 99 ms: 34 requests, the last answered at 102 ms.
    assert report["started"] == report["ok"] == 4 * 34
    assert report["elapsed_s"] == pytest.approx(0.102)
    assert report["throughput_per_s"] == pytest.approx(136 / 0.102, rel=1e-3)
    assert report["latency"]["p50_us"] == pytest.approx(3000.0)


def test_loadgen_closed_loop_tallies_errors_by_kind_and_honours_max_requests() -> None:
    clock = FakeClock()
    kinds = itertools.cycle([None, None, "status_503", "timeout"])

    async def send() -> str | None:
        await clock.sleep(0.001)
        return next(kinds)

    tally = clock.run(lambda: closed_loop(send, 2, 10.0, 40, clock=clock))
    report = tally.report()
    assert report["started"] == 40 and report["ok"] == 20
    assert report["errors"] == {"status_503": 10, "timeout": 10}
    assert report["elapsed_s"] == pytest.approx(0.02)


def test_loadgen_closed_loop_tally_refuses_starts_after_the_deadline() -> None:
    tally = ClosedLoopTally(start=0.0, deadline=1.0, max_requests=5)
    assert tally.may_start(0.999) and not tally.may_start(1.0)
    assert tally.started == 1


def test_loadgen_cpu_cores_is_cpu_over_wall() -> None:
    assert cpu_cores(1.5, 2.0) == 0.75
    assert cpu_cores(1.0, 0.0) == 0.0


def test_loadgen_spec_refuses_hosts_other_than_loopback_and_unbounded_runs() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Target("http://example.com/")
    target = Target("http://127.0.0.1:1/health/live")
    with pytest.raises(ValueError, match="duration"):
        LoadSpec(target, "open", duration_s=0, rate=10)
    with pytest.raises(ValueError, match="rate"):
        LoadSpec(target, "open", duration_s=1)
    with pytest.raises(ValueError, match="concurrency"):
        LoadSpec(target, "closed", duration_s=1)
