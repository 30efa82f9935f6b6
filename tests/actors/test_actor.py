from __future__ import annotations

import anyio
import pytest

from actors import (
    Actor,
    ActorState,
    AskTimeout,
    ChildSpec,
    HandlerFailed,
    MailboxClosed,
    ManualClock,
    MessageDropped,
    Overflow,
    Supervisor,
)


class Recorder(Actor[object, object]):
    """Echoes asks, records tells, crashes on 'boom', waits on 'wait'."""

    def __init__(self, name: str = "recorder", **kwargs: object) -> None:
        super().__init__(name, **kwargs)  # type: ignore[arg-type]
        self.seen: list[object] = []
        self.events: list[str] = []
        self.gate = anyio.Event()

    async def on_start(self) -> None:
        self.events.append("start")

    async def on_stop(self) -> None:
        self.events.append("stop")

    async def handle(self, message: object) -> object:
        if message == "boom":
            raise RuntimeError("boom")
        if message == "wait":
            await self.gate.wait()
        self.seen.append(message)
        return ("echo", message)


@pytest.mark.anyio
async def test_actor_handles_tells_in_order_and_answers_asks() -> None:
    actor = Recorder()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            for i in range(100):
                await actor.tell(i)
            assert await actor.ask("last", timeout=1) == ("echo", "last")
            actor.request_stop()
    assert actor.seen == [*range(100), "last"]
    assert actor.events == ["start", "stop"]
    assert actor.state is ActorState.STOPPED
    stats = actor.stats()
    assert (stats.handled, stats.failed, stats.dropped, stats.depth) == (101, 0, 0, 0)
    assert stats.handler_seconds > 0


@pytest.mark.anyio
@pytest.mark.parametrize("full", [False, True], ids=["handler_busy", "mailbox_full"])
async def test_actor_ask_times_out_and_the_abandoned_message_is_skipped(full: bool) -> None:
    """Timed out while the handler is busy (a loop timer) or while waiting for room in a full
    mailbox (a cancel scope): either way the late message is never handled."""
    actor = Recorder(capacity=1, overflow=Overflow.BLOCK) if full else Recorder()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            await actor.tell("wait")  # taken out and held at the gate
            if full:
                await anyio.wait_all_tasks_blocked()
                await actor.tell("queued")  # fills the mailbox
            with pytest.raises(AskTimeout):
                await actor.ask("late", timeout=0.05)
            actor.gate.set()
            assert await actor.ask("next", timeout=1) == ("echo", "next")
            actor.request_stop()
    assert actor.seen == ["wait", *(["queued"] if full else []), "next"]


@pytest.mark.anyio
async def test_actor_answers_on_after_an_asker_was_cancelled_while_waiting() -> None:
    """The asker's own cancel scope (not its timeout) ends the wait: the message is still
    handled (it was taken), its answer goes nowhere, and the next ask is answered."""
    actor = Recorder()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            await actor.tell("wait")  # the handler is held at the gate
            with anyio.move_on_after(0.05) as scope:
                await actor.ask("cancelled", timeout=5)
            assert scope.cancelled_caught
            actor.gate.set()
            assert await actor.ask("next", timeout=1) == ("echo", "next")
            actor.request_stop()
    assert actor.seen == ["wait", "cancelled", "next"]


@pytest.mark.anyio
async def test_actor_request_stop_drains_the_mailbox_then_refuses() -> None:
    actor = Recorder()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            await actor.tell("wait")
            for i in range(5):
                await actor.tell(i)
            actor.request_stop()
            with pytest.raises(MailboxClosed):
                await actor.tell("too late")
            actor.gate.set()
    assert actor.seen == ["wait", 0, 1, 2, 3, 4]


def test_actor_offer_never_waits_and_counts_what_it_turns_away() -> None:
    blocking = Recorder(capacity=2, overflow=Overflow.BLOCK)
    assert [blocking.offer(i) for i in range(3)] == [True, True, False]  # full: would wait
    dropping = Recorder(capacity=2, overflow=Overflow.DROP_OLDEST)
    assert all(dropping.offer(i) for i in range(3))  # the policy drops instead: not refused
    assert (dropping.stats().refused, dropping.stats().dropped) == (0, 1)
    blocking.request_stop()
    assert blocking.offer("after stop") is False
    assert blocking.stats().refused == 2


@pytest.mark.anyio
async def test_actor_ask_dropped_by_policy_raises_message_dropped() -> None:
    actor = Recorder(capacity=1, overflow=Overflow.DROP_OLDEST)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            await actor.tell("wait")
            await anyio.wait_all_tasks_blocked()  # the actor is inside "wait"
            outcome: list[BaseException] = []

            async def asker() -> None:
                try:
                    await actor.ask("first", timeout=2)
                except MessageDropped as exc:
                    outcome.append(exc)

            tg.start_soon(asker)
            await anyio.wait_all_tasks_blocked()
            actor.tell_nowait("second")  # pushes "first" out
            await anyio.wait_all_tasks_blocked()
            assert len(outcome) == 1
            assert actor.stats().dropped == 1
            actor.gate.set()
            actor.request_stop()
    assert actor.seen == ["wait", "second"]


@pytest.mark.anyio
async def test_actor_conflate_delivers_only_the_latest_value_per_key() -> None:
    actor = Recorder(capacity=10, overflow=Overflow.CONFLATE, key=lambda m: str(m)[:1])
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)
            await actor.tell("wait")
            await anyio.wait_all_tasks_blocked()
            for message in ["a1", "b1", "a2", "a3", "b2", "c1"]:
                actor.tell_nowait(message)
            actor.gate.set()
            actor.request_stop()
    assert actor.seen == ["wait", "a3", "b2", "c1"]
    assert actor.stats().dropped == 3


@pytest.mark.anyio
async def test_actor_message_crashing_twice_becomes_a_dead_letter() -> None:
    actor = Recorder()
    root = Supervisor("root", [ChildSpec(actor)], clock=ManualClock())
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(root.run)
            with pytest.raises(HandlerFailed) as failed:
                await actor.ask("boom", timeout=2)
            assert isinstance(failed.value.__cause__, RuntimeError)
            assert await actor.ask("after", timeout=2) == ("echo", "after")
            root.request_stop()
    letters = list(actor.dead_letters)
    assert [(d.actor, d.message) for d in letters] == [("recorder", "boom")]
    assert isinstance(letters[0].error, RuntimeError)
    stats = actor.stats()
    assert (stats.failed, stats.restarts, stats.dead_letters) == (2, 2, 1)
    assert actor.seen == ["after"]


@pytest.mark.anyio
async def test_actor_message_crashing_once_is_redelivered_after_restart() -> None:
    class Flaky(Recorder):
        crashed = False

        async def handle(self, message: object) -> object:
            if message == "flaky" and not self.crashed:
                self.crashed = True
                raise RuntimeError("first time only")
            return await super().handle(message)

    actor = Flaky()
    root = Supervisor("root", [actor], clock=ManualClock())
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(root.run)
            assert await actor.ask("flaky", timeout=2) == ("echo", "flaky")
            root.request_stop()
    assert actor.seen == ["flaky"]
    assert len(actor.dead_letters) == 0
    assert actor.events == ["start", "stop", "start", "stop"]


class Batcher(Actor[int, int]):
    """Squares numbers a batch at a time; a batch holding 13 raises."""

    def __init__(self) -> None:
        super().__init__("batcher", batch=8)
        self.batches: list[list[int]] = []
        self.gate = anyio.Event()

    async def handle_batch(self, messages: list[int]) -> list[int]:
        if messages == [0]:
            await self.gate.wait()
        self.batches.append(messages)
        if 13 in messages:
            raise ValueError("unlucky")
        return [m * m for m in messages]


@pytest.mark.anyio
async def test_actor_batches_waiting_messages_and_replies_to_each() -> None:
    actor = Batcher()
    results: dict[int, int] = {}
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(actor.run)

            async def ask(n: int) -> None:
                results[n] = await actor.ask(n, timeout=2)

            async with anyio.create_task_group() as asks:
                asks.start_soon(ask, 0)
                await anyio.wait_all_tasks_blocked()
                for n in range(1, 11):
                    asks.start_soon(ask, n)
                await anyio.wait_all_tasks_blocked()
                actor.gate.set()
            actor.request_stop()
    assert results == {n: n * n for n in range(11)}
    assert actor.batches == [[0], [1, 2, 3, 4, 5, 6, 7, 8], [9, 10]]
    assert actor.stats().handled == 11


@pytest.mark.anyio
async def test_actor_batch_crash_retries_each_alone_and_dead_letters_the_culprit() -> None:
    actor = Batcher()
    root = Supervisor("root", [actor], clock=ManualClock())
    outcomes: dict[int, object] = {}
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(root.run)

            async def ask(n: int) -> None:
                try:
                    outcomes[n] = await actor.ask(n, timeout=2)
                except HandlerFailed as exc:
                    outcomes[n] = exc

            tg.start_soon(ask, 0)
            await anyio.wait_all_tasks_blocked()
            for n in (12, 13, 14):
                tg.start_soon(ask, n)
            await anyio.wait_all_tasks_blocked()
            actor.gate.set()
            await anyio.wait_all_tasks_blocked()
            root.request_stop()
    assert outcomes[0] == 0 and outcomes[12] == 144 and outcomes[14] == 196
    assert isinstance(outcomes[13], HandlerFailed)
    assert actor.batches == [[0], [12, 13, 14], [12], [13], [14]]
    assert [d.message for d in actor.dead_letters] == [13]
