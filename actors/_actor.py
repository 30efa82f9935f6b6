"""The actor: one bounded mailbox, one message handled at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint

from ._dead_letters import DeadLetters
from ._exceptions import AskTimeout, HandlerFailed, MailboxClosed, MailboxFull, MessageDropped
from ._lifecycle import ActorState, check_transition
from ._mailbox import Mailbox, Overflow
from ._stats import ActorStats

M = TypeVar("M")
R = TypeVar("R")

log = logging.getLogger("actors")

# Handle this many messages back to back before letting other tasks run.
_YIELD_EVERY = 32


class _FutureEvent:
    """The part of `anyio.Event` an ask uses, as one asyncio future: on asyncio an
    `anyio.Event` is a backend lookup, an `asyncio.Event` and a future per ask, which an ask
    per REST prediction notices. Awaiting it directly (`await event.wait()`) is the wait."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def is_set(self) -> bool:
        return self._future.done()  # also once the waiter was cancelled: nobody is waiting

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def wait(self) -> asyncio.Future[None]:
        return self._future


class _Ask(Generic[M, R]):
    """An asked message travelling with the slot its reply goes into."""

    __slots__ = ("message", "done", "result", "error", "abandoned")

    def __init__(self, message: M, loop: asyncio.AbstractEventLoop | None) -> None:
        self.message = message
        self.done = anyio.Event() if loop is None else _FutureEvent(loop)
        self.result: R | None = None
        self.error: BaseException | None = None
        self.abandoned = False

    def expire(self) -> None:
        """The asker's deadline passed first: it stops waiting, and the actor skips it."""
        if not self.done.is_set():
            self.abandoned = True
            self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class Actor(Generic[M, R]):
    """Subclass and implement `handle`; `on_start` (re)initialises state on every (re)start."""

    def __init__(
        self,
        name: str,
        *,
        capacity: int = 1000,
        overflow: Overflow = Overflow.BLOCK,
        key: Callable[[M], Hashable] | None = None,
        dead_letters: DeadLetters | None = None,
        batch: int = 1,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.name = name
        self._batch = batch
        self._key = key
        self.dead_letters = dead_letters if dead_letters is not None else DeadLetters()
        self._mailbox: Mailbox[M | _Ask[M, R]] = Mailbox(
            capacity,
            overflow,
            key=None if key is None else self._message_key,
            on_drop=self._dropped,
        )
        self._state = ActorState.NEW
        self._incarnations = 0
        self._handled = 0
        self._failed = 0
        self._refused = 0
        self._handler_seconds = 0.0
        # Messages that crashed a handler once, by identity: redelivered alone, and a dead
        # letter if they crash it again.
        self._suspects: dict[int, M | _Ask[M, R]] = {}

    async def handle(self, message: M) -> R:
        """Handle one message; what it returns is the reply to an `ask`."""
        raise NotImplementedError

    async def handle_batch(self, messages: list[M]) -> list[R]:
        """Handle up to `batch` messages that were waiting together; one reply per message.

        Override it to micro-batch (one model call for many requests); the default handles
        them one by one."""
        return [await self.handle(message) for message in messages]

    async def on_start(self) -> None:
        """Called before the first message of every incarnation."""

    async def on_stop(self) -> None:
        """Called when an incarnation ends, however it ends."""

    @property
    def state(self) -> ActorState:
        return self._state

    async def tell(self, message: M) -> None:
        """Send without waiting for a reply (waiting for room under `block`)."""
        await self._mailbox.put(message)

    def tell_nowait(self, message: M) -> None:
        """Send now; MailboxFull where the policy would make the sender wait."""
        self._mailbox.put_nowait(message)

    def offer(self, message: M) -> bool:
        """Send now if the mailbox takes it, never waiting: False (and counted in the stats'
        `refused`) where a full mailbox would make the sender wait, or once it is closed."""
        try:
            self._mailbox.put_nowait(message)
        except (MailboxFull, MailboxClosed):
            self._refused += 1
            return False
        return True

    # The timeout is part of the contract (a caller must always bound an ask), hence ASYNC109.
    async def ask(self, message: M, timeout: float) -> R:  # noqa: ASYNC109
        """Send and wait up to `timeout` seconds for the handler's return value.

        When the mailbox has room (the usual case) the deadline is a plain event-loop timer
        rather than a cancel scope: on asyncio that is a third of the cost, which an ask per
        REST prediction notices. A full mailbox waits for room under a cancel scope."""
        loop = _running_asyncio_loop()
        request: _Ask[M, R] = _Ask(message, loop)
        if loop is not None and self._put_now(request):
            timer = loop.call_later(timeout, request.expire)
            try:
                await request.done.wait()
            finally:
                timer.cancel()
            if request.abandoned:
                raise AskTimeout(f"{self.name} did not answer within {timeout}s")
        else:
            try:
                with anyio.fail_after(timeout):
                    await self._mailbox.put(request)
                    await request.done.wait()
            except TimeoutError as exc:
                request.abandoned = True
                raise AskTimeout(f"{self.name} did not answer within {timeout}s") from exc
        if request.error is not None:
            raise request.error
        return request.result  # type: ignore[return-value]

    def _put_now(self, message: M | _Ask[M, R]) -> bool:
        try:
            self._mailbox.put_nowait(message)
        except MailboxFull:
            return False
        return True

    def stats(self) -> ActorStats:
        """A snapshot of this actor's counters."""
        return ActorStats(
            name=self.name,
            state=self._state,
            overflow=self._mailbox.overflow.value,
            capacity=self._mailbox.capacity,
            depth=len(self._mailbox),
            handled=self._handled,
            failed=self._failed,
            dropped=self._mailbox.dropped,
            refused=self._refused,
            dead_letters=self.dead_letters.total,
            restarts=max(0, self._incarnations - 1),
            handler_seconds=self._handler_seconds,
        )

    def request_stop(self) -> None:
        """Stop taking messages; the running incarnation drains its mailbox and returns."""
        if self._state is ActorState.RUNNING:
            self._state = check_transition(self._state, ActorState.STOPPING)
        self._mailbox.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """One incarnation: start, signal ready, handle messages until stopped or crashed."""
        self._state = check_transition(self._state, ActorState.STARTING)
        self._incarnations += 1
        self._mailbox.reopen()
        try:
            await self.on_start()
            self._state = check_transition(self._state, ActorState.RUNNING)
            task_status.started()
            await self._loop()
        except Exception:
            self._state = check_transition(self._state, ActorState.CRASHED)
            raise
        except BaseException:  # cancelled: stopped from outside
            self._state = check_transition(self._state, ActorState.STOPPED)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self.on_stop()
        self._state = check_transition(self._state, ActorState.STOPPED)

    async def _loop(self) -> None:
        mailbox = self._mailbox
        handled_since_yield = 0
        while True:
            try:
                item = await mailbox.get()
            except MailboxClosed:
                return
            if self._batch > 1 and id(item) not in self._suspects:
                batch = [item, *mailbox.take_nowait(self._batch - 1)]
                await self._deliver_batch(batch)
                handled_since_yield += len(batch)
            else:
                await self._deliver(item)
                handled_since_yield += 1
            if handled_since_yield >= _YIELD_EVERY:
                handled_since_yield = 0
                await checkpoint()

    async def _deliver(self, item: M | _Ask[M, R]) -> None:
        is_ask = isinstance(item, _Ask)
        if is_ask and item.abandoned:  # type: ignore[union-attr]
            return
        message: M = item.message if is_ask else item  # type: ignore[union-attr,assignment]
        started = time.perf_counter()
        try:
            if self._batch > 1:
                (result,) = await self.handle_batch([message])
            else:
                result = await self.handle(message)
        except Exception as exc:
            self._handler_seconds += time.perf_counter() - started
            self._failed += 1
            self._crash(item, exc)
            raise
        self._handler_seconds += time.perf_counter() - started
        self._handled += 1
        self._suspects.pop(id(item), None)
        if is_ask:
            item.result = result  # type: ignore[union-attr]
            item.done.set()  # type: ignore[union-attr]

    async def _deliver_batch(self, items: list[M | _Ask[M, R]]) -> None:
        live = [i for i in items if not (isinstance(i, _Ask) and i.abandoned)]
        if not live:
            return
        messages: list[M] = [i.message if isinstance(i, _Ask) else i for i in live]
        started = time.perf_counter()
        try:
            results = await self.handle_batch(messages)
        except Exception:
            self._handler_seconds += time.perf_counter() - started
            self._failed += len(live)
            for item in reversed(live):  # each is retried alone, so the culprit is found
                self._suspects[id(item)] = item
                self._mailbox.put_front(item)
            raise
        self._handler_seconds += time.perf_counter() - started
        self._handled += len(live)
        for item, result in zip(live, results, strict=True):
            if isinstance(item, _Ask):
                item.result = result
                item.done.set()

    def _crash(self, item: M | _Ask[M, R], exc: Exception) -> None:
        if self._suspects.pop(id(item), None) is not None:
            message = item.message if isinstance(item, _Ask) else item
            self.dead_letters.record(self.name, message, exc)
            log.error("actor %s: message became a dead letter: %r", self.name, exc)
            if isinstance(item, _Ask):
                error = HandlerFailed(f"{self.name} failed twice on this message: {exc!r}")
                error.__cause__ = exc
                item.fail(error)
            return
        self._suspects[id(item)] = item
        self._mailbox.put_front(item)

    def _message_key(self, item: M | _Ask[M, R]) -> Hashable:
        assert self._key is not None  # noqa: S101 - only installed with a key
        return self._key(item.message if isinstance(item, _Ask) else item)

    def _dropped(self, item: M | _Ask[M, R]) -> None:
        if isinstance(item, _Ask):
            item.fail(MessageDropped(f"{self.name} dropped the message ({self._mailbox.overflow})"))


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another anyio backend (trio)
        return None
