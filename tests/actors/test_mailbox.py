from __future__ import annotations

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import Mailbox, MailboxClosed, MailboxFull, Overflow

items = st.lists(st.integers(), max_size=200)
capacities = st.integers(min_value=1, max_value=50)


@settings(deadline=None, max_examples=50)
@given(items, capacities)
def test_mailbox_block_loses_nothing_and_keeps_order(values: list[int], capacity: int) -> None:
    received: list[int] = []

    async def main() -> None:
        mailbox: Mailbox[int] = Mailbox(capacity, Overflow.BLOCK)

        async def produce() -> None:
            for value in values:
                await mailbox.put(value)
            mailbox.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            with anyio.fail_after(5):
                while True:
                    try:
                        received.append(await mailbox.get())
                    except MailboxClosed:
                        break
        assert mailbox.dropped == 0

    anyio.run(main)
    assert received == values


@given(st.lists(st.tuples(st.integers(0, 20), st.integers())), st.integers(21, 50))
def test_mailbox_conflate_keeps_exactly_the_latest_per_key(
    updates: list[tuple[int, int]], capacity: int
) -> None:
    mailbox: Mailbox[tuple[int, int]] = Mailbox(capacity, Overflow.CONFLATE, key=lambda u: u[0])
    for update in updates:
        mailbox.put_nowait(update)
    latest = dict(updates)
    first_seen = list(dict.fromkeys(k for k, _ in updates))
    assert mailbox.drain() == [(k, latest[k]) for k in first_seen]
    assert mailbox.dropped == len(updates) - len(latest)


@given(items, capacities)
def test_mailbox_drop_oldest_keeps_the_newest_and_counts_exactly(
    values: list[int], capacity: int
) -> None:
    dropped: list[int] = []
    mailbox: Mailbox[int] = Mailbox(capacity, Overflow.DROP_OLDEST, on_drop=dropped.append)
    for value in values:
        mailbox.put_nowait(value)
    assert mailbox.drain() == values[-capacity:]
    assert mailbox.dropped == max(0, len(values) - capacity)
    assert dropped == values[: max(0, len(values) - capacity)]


@given(items, capacities)
def test_mailbox_drop_newest_keeps_the_oldest_and_counts_exactly(
    values: list[int], capacity: int
) -> None:
    mailbox: Mailbox[int] = Mailbox(capacity, Overflow.DROP_NEWEST)
    for value in values:
        mailbox.put_nowait(value)
    assert mailbox.drain() == values[:capacity]
    assert mailbox.dropped == max(0, len(values) - capacity)


@given(items, capacities)
def test_mailbox_fail_refuses_and_counts_every_overflow(values: list[int], capacity: int) -> None:
    mailbox: Mailbox[int] = Mailbox(capacity, Overflow.FAIL)
    refused = 0
    for value in values:
        try:
            mailbox.put_nowait(value)
        except MailboxFull:
            refused += 1
    assert refused == mailbox.dropped == max(0, len(values) - capacity)
    assert mailbox.drain() == values[:capacity]


def test_mailbox_block_put_nowait_raises_when_full() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(1)
    with pytest.raises(MailboxFull):
        mailbox.put_nowait(2)
    assert mailbox.dropped == 0


def test_mailbox_conflate_requires_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        Mailbox(1, Overflow.CONFLATE)


@pytest.mark.anyio
async def test_mailbox_close_wakes_a_blocked_sender_with_mailbox_closed() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(1)
    outcome: list[BaseException] = []

    async def sender() -> None:
        try:
            await mailbox.put(2)
        except MailboxClosed as exc:
            outcome.append(exc)

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            await anyio.wait_all_tasks_blocked()
            mailbox.close()
    assert len(outcome) == 1
    assert await mailbox.get() == 1  # what was waiting is still drained


@pytest.mark.anyio
async def test_mailbox_cancelled_sender_passes_its_wakeup_on() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(0)
    got: list[int] = []
    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as doomed:
                tg.start_soon(mailbox.put, 1)
                await anyio.wait_all_tasks_blocked()
            second = anyio.CancelScope()

            async def cancelled_sender() -> None:
                with second:
                    await mailbox.put(2)

            tg.start_soon(cancelled_sender)
            await anyio.wait_all_tasks_blocked()
            got.append(await mailbox.get())  # wakes the first waiter (sender of 1)
            second.cancel()
            got.append(await mailbox.get())
    assert doomed is not None
    assert got == [0, 1]
    assert len(mailbox) == 0
