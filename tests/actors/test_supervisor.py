from __future__ import annotations

import random

import anyio
import pytest
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint

from actors import (
    Backoff,
    ChildSpec,
    ChildStartFailed,
    Intensity,
    ManualClock,
    Restart,
    RestartIntensityExceeded,
    Strategy,
    Supervisor,
)


class Probe:
    """A child that runs until told to stop, crash or finish, logging what happens."""

    def __init__(self, name: str, log: list[str], *, ignore_stop: bool = False) -> None:
        self.name = name
        self.log = log
        self.ignore_stop = ignore_stop
        self.starts = 0
        self._command = anyio.Event()
        self._what = ""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.starts += 1
        self._command = anyio.Event()
        self._what = ""
        self.log.append(f"start {self.name}")
        await checkpoint()
        self.log.append(f"ready {self.name}")
        task_status.started()
        try:
            await self._command.wait()
            if self._what == "crash":
                raise RuntimeError(f"{self.name} crashed")
        finally:
            self.log.append(f"stop {self.name}")

    def request_stop(self) -> None:
        if not self.ignore_stop:
            self._what = "stop"
            self._command.set()

    def crash(self) -> None:
        self._what = "crash"
        self._command.set()

    def finish(self) -> None:
        self._what = "finish"
        self._command.set()


class Crasher:
    """Crashes right after every start."""

    def __init__(self, name: str = "crasher") -> None:
        self.name = name
        self.starts = 0

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.starts += 1
        task_status.started()
        await checkpoint()
        raise RuntimeError(f"{self.name} crash {self.starts}")

    def request_stop(self) -> None:
        pass


EXPECTED_RESTARTED = {
    Strategy.ONE_FOR_ONE: {"b"},
    Strategy.ONE_FOR_ALL: {"a", "b", "c"},
    Strategy.REST_FOR_ONE: {"b", "c"},
}


@pytest.mark.anyio
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("restart", list(Restart))
@pytest.mark.parametrize("outcome", ["crash", "finish"])
async def test_supervisor_strategy_and_restart_type_decide_who_restarts(
    strategy: Strategy, restart: Restart, outcome: str
) -> None:
    log: list[str] = []
    a, b, c = Probe("a", log), Probe("b", log), Probe("c", log)
    sup = Supervisor(
        "sup", [a, ChildSpec(b, restart=restart), c], strategy=strategy, clock=ManualClock()
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            log.clear()
            getattr(b, outcome)()
            await anyio.wait_all_tasks_blocked()
            restarts = restart is Restart.PERMANENT or (
                restart is Restart.TRANSIENT and outcome == "crash"
            )
            expected = EXPECTED_RESTARTED[strategy] if restarts else set()
            assert {p.name for p in (a, b, c) if p.starts == 2} == expected
            assert all(p.starts in (1, 2) for p in (a, b, c))
            if restarts and strategy is Strategy.ONE_FOR_ALL:
                assert log == [
                    "stop b", "stop c", "stop a",
                    "start a", "ready a", "start b", "ready b", "start c", "ready c",
                ]  # fmt: skip
            sup.request_stop()


@pytest.mark.anyio
async def test_supervisor_temporary_child_is_not_brought_back_by_a_sibling_restart() -> None:
    log: list[str] = []
    a, b = Probe("a", log), Probe("b", log)
    sup = Supervisor(
        "sup",
        [ChildSpec(a, restart=Restart.TEMPORARY), b],
        strategy=Strategy.ONE_FOR_ALL,
        clock=ManualClock(),
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            a.crash()
            await anyio.wait_all_tasks_blocked()
            b.crash()
            await anyio.wait_all_tasks_blocked()
            assert (a.starts, b.starts) == (1, 2)
            sup.request_stop()


@pytest.mark.anyio
async def test_supervisor_starts_in_order_each_ready_first_and_stops_in_reverse() -> None:
    log: list[str] = []
    children = [Probe(n, log) for n in "abc"]
    sup = Supervisor("sup", children)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            assert log == ["start a", "ready a", "start b", "ready b", "start c", "ready c"]
            log.clear()
            sup.request_stop()
    assert log == ["stop c", "stop b", "stop a"]


@pytest.mark.anyio
async def test_supervisor_cancels_a_child_that_overruns_its_shutdown_timeout() -> None:
    log: list[str] = []
    stubborn, polite = Probe("stubborn", log, ignore_stop=True), Probe("polite", log)
    sup = Supervisor("sup", [polite, ChildSpec(stubborn, shutdown=0.05)])
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            log.clear()
            started = anyio.current_time()
            sup.request_stop()
    assert log == ["stop stubborn", "stop polite"]
    assert anyio.current_time() - started >= 0.05


@pytest.mark.anyio
async def test_supervisor_cancellation_reaches_every_task() -> None:
    log: list[str] = []
    inner = Supervisor("inner", [Probe("x", log), Probe("y", log)])
    outer = Supervisor("outer", [Probe("a", log), inner])
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(outer.run)
            tg.cancel_scope.cancel()
    assert sorted(e for e in log if e.startswith("stop")) == ["stop a", "stop x", "stop y"]


@pytest.mark.anyio
async def test_supervisor_intensity_escalates_through_two_levels() -> None:
    clock = ManualClock()
    crasher = Crasher()
    middle = Supervisor("middle", [crasher], intensity=Intensity(2, 100), clock=clock)
    root = Supervisor("root", [middle], intensity=Intensity(1, 100), clock=clock)
    with anyio.fail_after(5), pytest.raises(RestartIntensityExceeded) as raised:
        await root.run()
    assert "root" in str(raised.value)
    cause = raised.value.__cause__
    assert isinstance(cause, RestartIntensityExceeded) and "middle" in str(cause)
    assert isinstance(cause.__cause__, RuntimeError)
    assert crasher.starts == 6  # (1 + 2 restarts) for each of middle's two incarnations
    assert middle.restarts == 1


@pytest.mark.anyio
async def test_supervisor_intensity_window_forgets_old_restarts() -> None:
    clock = ManualClock()
    log: list[str] = []
    probe = Probe("p", log)
    sup = Supervisor("sup", [probe], intensity=Intensity(1, 10), clock=clock)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            for _ in range(3):
                clock.advance(11)
                probe.crash()
                await anyio.wait_all_tasks_blocked()
            assert probe.starts == 4
            sup.request_stop()


@pytest.mark.anyio
async def test_supervisor_backoff_doubles_within_jitter_bounds_and_resets_when_stable() -> None:
    clock = ManualClock()
    log: list[str] = []
    probe = Probe("p", log)
    backoff = Backoff(base=1.0, cap=8.0, jitter=0.5, stable_after=100.0)
    sup = Supervisor(
        "sup", [probe], intensity=Intensity(100, 1), backoff=backoff, clock=clock,
        rng=random.Random(3),
    )  # fmt: skip
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            for _ in range(6):
                probe.crash()
                await anyio.wait_all_tasks_blocked()
            clock.advance(200)  # the child has now been stable
            probe.crash()
            await anyio.wait_all_tasks_blocked()
            sup.request_stop()
    ceilings = [1, 2, 4, 8, 8, 8, 1]
    assert len(clock.sleeps) == len(ceilings)
    for slept, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= slept <= ceiling
    assert len(set(clock.sleeps)) == len(clock.sleeps)  # jittered, not fixed


@pytest.mark.anyio
async def test_supervisor_fails_to_start_when_a_child_fails_before_ready() -> None:
    class Broken:
        name = "broken"

        async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            raise OSError("no such port")

        def request_stop(self) -> None:
            pass

    log: list[str] = []
    sup = Supervisor("sup", [Probe("a", log), Broken()])
    with anyio.fail_after(5), pytest.raises(ChildStartFailed, match="broken"):
        await sup.run()
    assert log == ["start a", "ready a", "stop a"]
