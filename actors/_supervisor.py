"""An OTP-style supervisor: starts children in order, restarts them by strategy, escalates."""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ._actor import Actor
from ._backoff import Backoff, Intensity, RestartWindow
from ._clock import Clock, MonotonicClock
from ._exceptions import ChildStartFailed, RestartIntensityExceeded, SupervisorError

log = logging.getLogger("actors")


class Child(Protocol):
    """Anything a supervisor can run: an Actor, a Supervisor, or a service of your own."""

    name: str

    async def run(self, *, task_status: TaskStatus[None] = ...) -> None: ...

    def request_stop(self) -> None: ...


class Strategy(StrEnum):
    """Which children restart when one of them stops."""

    ONE_FOR_ONE = "one_for_one"  # only that child
    ONE_FOR_ALL = "one_for_all"  # every child
    REST_FOR_ONE = "rest_for_one"  # that child and every child started after it


class Restart(StrEnum):
    """When a stopped child is restarted."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only when it crashed
    TEMPORARY = "temporary"  # never


@dataclass(frozen=True)
class ChildSpec:
    """A child with its restart type and how long it gets to stop before it is cancelled."""

    child: Child
    restart: Restart = Restart.PERMANENT
    shutdown: float = 5.0


class _Phase(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping"
    REMOVED = "removed"  # a transient or temporary child that will not come back


@dataclass(eq=False)
class _Slot:
    spec: ChildSpec
    phase: _Phase = _Phase.STOPPED
    generation: int = 0
    started_at: float = 0.0
    failures: int = 0  # consecutive, for the backoff
    scope: anyio.CancelScope | None = None  # created inside the event loop, per start
    done: anyio.Event | None = None
    last_error: BaseException | None = None

    @property
    def name(self) -> str:
        return self.spec.child.name


@dataclass(frozen=True, slots=True)
class _Exit:
    slot: _Slot
    generation: int
    error: BaseException | None


class Supervisor:
    """Runs its children in one task group; every task it owns ends when it ends."""

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec | Child],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: Intensity | None = None,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.strategy = strategy
        self.intensity = intensity or Intensity()
        self.backoff = backoff or Backoff()
        self._clock = clock or MonotonicClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._slots = [_Slot(c if isinstance(c, ChildSpec) else ChildSpec(c)) for c in children]
        self._exits: deque[_Exit] = deque()
        self._exit_event: anyio.Event | None = None
        self._stop_scope: anyio.CancelScope | None = None
        self._stop_requested = False
        self._tg: TaskGroup | None = None
        self._incarnations = 0

    @property
    def restarts(self) -> int:
        """How many times this supervisor itself has been restarted."""
        return max(0, self._incarnations - 1)

    def children(self) -> list[Child]:
        """The children in start order."""
        return [slot.spec.child for slot in self._slots]

    def walk(self) -> Iterator[Child]:
        """Every child below this supervisor, depth first."""
        for child in self.children():
            yield child
            if isinstance(child, Supervisor):
                yield from child.walk()

    def actors(self) -> Iterator[Actor[object, object]]:
        """Every actor below this supervisor."""
        for child in self.walk():
            if isinstance(child, Actor):
                yield child

    def request_stop(self) -> None:
        """Stop every child in reverse start order, then return from `run`."""
        self._stop_requested = True
        if self._stop_scope is not None:
            self._stop_scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, supervise them, and stop them in reverse order."""
        self._incarnations += 1
        self._stop_scope = anyio.CancelScope()
        self._stop_requested = False
        self._exit_event = anyio.Event()
        self._exits.clear()
        failure: SupervisorError | None = None
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                await self._start_all(self._slots)
                task_status.started()
                with self._stop_scope:
                    if self._stop_requested:  # asked to stop while it was starting
                        self._stop_scope.cancel()
                    await self._supervise()
            except SupervisorError as exc:  # raised outside the task group, so not wrapped
                failure = exc
            finally:
                await self._stop_all(self._slots)
        if failure is not None:
            raise failure

    async def _supervise(self) -> None:
        window = RestartWindow(self.intensity)
        while True:
            exit_ = await self._next_exit()
            slot = exit_.slot
            if exit_.generation != slot.generation or slot.phase is not _Phase.RUNNING:
                continue  # a stale exit from an incarnation already replaced
            slot.phase = _Phase.STOPPED
            slot.last_error = exit_.error
            self._log_exit(slot, exit_.error)
            if not _should_restart(slot.spec.restart, exit_.error):
                slot.phase = _Phase.REMOVED
                continue
            if not window.record(self._clock.now()):
                raise RestartIntensityExceeded(
                    f"supervisor {self.name}: more than {self.intensity.max_restarts} restarts "
                    f"in {self.intensity.period}s (last: {slot.name}: {exit_.error!r})"
                ) from exit_.error
            await self._clock.sleep(self._backoff_delay(slot))
            await self._restart(slot)

    def _backoff_delay(self, slot: _Slot) -> float:
        if self._clock.now() - slot.started_at >= self.backoff.stable_after:
            slot.failures = 0
        delay = self.backoff.delay(slot.failures, self._rng)
        slot.failures += 1
        return delay

    async def _restart(self, slot: _Slot) -> None:
        if self.strategy is Strategy.ONE_FOR_ONE:
            group = [slot]
        elif self.strategy is Strategy.ONE_FOR_ALL:
            group = list(self._slots)
        else:
            group = self._slots[self._slots.index(slot) :]
        group = [s for s in group if s.phase is not _Phase.REMOVED]
        await self._stop_all(group)
        try:
            await self._start_all(group)
        except ChildStartFailed as exc:  # counts as a crash of that child
            failed = next(s for s in group if s.name == exc.child)
            self._exits.append(_Exit(failed, failed.generation, exc.__cause__))
            failed.phase = _Phase.RUNNING
            self._notify_exit()

    async def _start_all(self, slots: Sequence[_Slot]) -> None:
        for slot in slots:
            await self._start(slot)

    async def _start(self, slot: _Slot) -> None:
        assert self._tg is not None  # noqa: S101 - only called inside run()
        slot.generation += 1
        slot.scope = anyio.CancelScope()
        slot.done = anyio.Event()
        slot.started_at = self._clock.now()
        slot.phase = _Phase.RUNNING  # before it runs, so an instant crash is still reported
        try:
            await self._tg.start(self._run_child, slot, slot.generation)
        except Exception as exc:
            slot.phase = _Phase.STOPPED
            raise _start_failed(slot, exc) from exc

    async def _run_child(
        self, slot: _Slot, generation: int, *, task_status: TaskStatus[None]
    ) -> None:
        ready = _ReadyFlag(task_status)
        error: BaseException | None = None
        assert slot.scope is not None and slot.done is not None  # noqa: S101 - set by _start
        try:
            with slot.scope:
                await slot.spec.child.run(task_status=ready)
        except Exception as exc:
            if not ready.is_started:
                raise
            error = exc
        finally:
            slot.done.set()
        if not ready.is_started:
            raise ChildStartFailed(slot.name, f"{slot.name} returned before it was ready")
        if slot.phase is _Phase.RUNNING and generation == slot.generation:
            self._exits.append(_Exit(slot, generation, error))
            self._notify_exit()

    def _notify_exit(self) -> None:
        if self._exit_event is not None:
            self._exit_event.set()

    async def _next_exit(self) -> _Exit:
        while not self._exits:
            self._exit_event = anyio.Event()
            await self._exit_event.wait()
        return self._exits.popleft()

    async def _stop_all(self, slots: Sequence[_Slot]) -> None:
        for slot in reversed(slots):
            await self._stop(slot)

    async def _stop(self, slot: _Slot) -> None:
        if slot.phase is not _Phase.RUNNING or slot.done is None or slot.scope is None:
            return
        slot.phase = _Phase.STOPPING
        slot.spec.child.request_stop()
        with anyio.move_on_after(slot.spec.shutdown):
            await slot.done.wait()
        if not slot.done.is_set():
            log.warning(
                "%s: %s did not stop within %ss; cancelling it",
                self.name,
                slot.name,
                slot.spec.shutdown,
            )
            slot.scope.cancel()
            await slot.done.wait()
        slot.phase = _Phase.STOPPED

    def _log_exit(self, slot: _Slot, error: BaseException | None) -> None:
        if error is None:
            log.info("%s: child %s stopped", self.name, slot.name)
        else:
            log.error("%s: child %s crashed: %r", self.name, slot.name, error)


class _ReadyFlag:
    """Passes `started()` through and remembers that it was called."""

    def __init__(self, status: TaskStatus[None]) -> None:
        self._status = status
        self.is_started = False

    def started(self, value: None = None) -> None:
        self._status.started(value)
        self.is_started = True


def _should_restart(restart: Restart, error: BaseException | None) -> bool:
    if restart is Restart.PERMANENT:
        return True
    return restart is Restart.TRANSIENT and error is not None


def _start_failed(slot: _Slot, exc: Exception) -> ChildStartFailed:
    if isinstance(exc, ChildStartFailed):
        return exc
    return ChildStartFailed(slot.name, f"{slot.name} failed to start: {exc!r}")
