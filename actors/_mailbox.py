"""A bounded mailbox with an explicit overflow policy; every drop is counted."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from enum import StrEnum
from typing import Generic, TypeVar

import anyio

from ._exceptions import MailboxClosed, MailboxFull

T = TypeVar("T")


class Overflow(StrEnum):
    """What a full mailbox does with one more message.

    - BLOCK: the sender waits for room; nothing is lost.
    - DROP_OLDEST: the oldest waiting message is dropped to make room.
    - DROP_NEWEST: the incoming message is dropped; the waiting ones are kept.
    - CONFLATE: a message whose key is already waiting replaces it in place (latest per key
      wins); a new key meeting a full mailbox waits for room, as BLOCK does.
    - FAIL: the sender gets MailboxFull.
    """

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    CONFLATE = "conflate"
    FAIL = "fail"


class Mailbox(Generic[T]):
    """A bounded FIFO for one consumer and any number of producers."""

    def __init__(
        self,
        capacity: int,
        overflow: Overflow = Overflow.BLOCK,
        *,
        key: Callable[[T], Hashable] | None = None,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("a mailbox needs a capacity of at least 1")
        if (overflow is Overflow.CONFLATE) != (key is not None):
            raise ValueError("a key function is needed by, and only by, the conflate policy")
        self.capacity = capacity
        self.overflow = overflow
        self.dropped = 0
        self._key = key
        self._on_drop = on_drop
        self._items: deque[T] = deque()
        self._keyed: dict[Hashable, T] = {}
        self._closed = False
        self._getter: anyio.Event | None = None
        self._putters: deque[anyio.Event] = deque()

    def __len__(self) -> int:
        return len(self._keyed) if self._key is not None else len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put_nowait(self, item: T) -> None:
        """Add `item` now, applying the overflow policy; MailboxFull if it would have to wait."""
        if not self._try_put(item):
            raise MailboxFull(f"mailbox full ({self.capacity} messages)")

    async def put(self, item: T) -> None:
        """Add `item`, waiting for room when the policy is to wait."""
        while not self._try_put(item):
            waiter = anyio.Event()
            self._putters.append(waiter)
            try:
                await waiter.wait()
            except BaseException:
                self._forget_putter(waiter)
                raise

    async def get(self) -> T:
        """Take the oldest message, waiting for one; MailboxClosed once closed and drained."""
        while True:
            item = self._pop()
            if item is not _EMPTY:
                return item  # type: ignore[return-value]
            if self._closed:
                raise MailboxClosed("mailbox closed")
            self._getter = anyio.Event()
            await self._getter.wait()

    def take_nowait(self, limit: int) -> list[T]:
        """Take up to `limit` waiting messages without waiting."""
        taken: list[T] = []
        while len(taken) < limit:
            item = self._pop()
            if item is _EMPTY:
                break
            taken.append(item)  # type: ignore[arg-type]
        return taken

    def _pop(self) -> T | object:
        if self._key is not None:
            if not self._keyed:
                return _EMPTY
            item = self._keyed.pop(next(iter(self._keyed)))
        elif self._items:
            item = self._items.popleft()
        else:
            return _EMPTY
        if self._putters:
            self._putters.popleft().set()
        return item

    def put_front(self, item: T) -> None:
        """Put a message back at the head, ignoring capacity (for redelivery after a crash)."""
        if self._key is None:
            self._items.appendleft(item)
            return
        key = self._key(item)
        if key not in self._keyed:  # a newer value for the key supersedes the redelivery
            self._keyed = {key: item, **self._keyed}
        self._wake_getter()

    def close(self) -> None:
        """Refuse new messages; the consumer still drains what is waiting."""
        self._closed = True
        self._wake_getter()
        while self._putters:
            self._putters.popleft().set()

    def reopen(self) -> None:
        """Accept messages again (an actor restarting after a graceful stop)."""
        self._closed = False

    def drain(self) -> list[T]:
        """Remove and return every waiting message."""
        items = list(self._keyed.values()) if self._key is not None else list(self._items)
        self._items.clear()
        self._keyed.clear()
        while self._putters:
            self._putters.popleft().set()
        return items

    def _try_put(self, item: T) -> bool:
        if self._closed:
            raise MailboxClosed("mailbox closed")
        if self._key is not None:
            return self._put_keyed(self._key(item), item)
        if len(self._items) < self.capacity:
            self._items.append(item)
        elif self.overflow is Overflow.BLOCK:
            return False
        elif self.overflow is Overflow.DROP_OLDEST:
            self._drop(self._items.popleft())
            self._items.append(item)
        elif self.overflow is Overflow.DROP_NEWEST:
            self._drop(item)
            return True
        else:
            self._drop(item)
            raise MailboxFull(f"mailbox full ({self.capacity} messages)")
        self._wake_getter()
        return True

    def _put_keyed(self, key: Hashable, item: T) -> bool:
        if key in self._keyed:
            self._drop(self._keyed[key])
        elif len(self._keyed) >= self.capacity:
            return False
        self._keyed[key] = item
        self._wake_getter()
        return True

    def _drop(self, item: T) -> None:
        self.dropped += 1
        if self._on_drop is not None:
            self._on_drop(item)

    def _wake_getter(self) -> None:
        if self._getter is not None:
            self._getter.set()
            self._getter = None

    def _forget_putter(self, waiter: anyio.Event) -> None:
        try:
            self._putters.remove(waiter)
        except ValueError:  # already woken: pass the wake-up on so it is not lost
            if self._putters:
                self._putters.popleft().set()


_EMPTY = object()
