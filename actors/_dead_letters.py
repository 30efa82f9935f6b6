"""Messages that crashed their handler twice, kept with the error instead of retried forever."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message that was given up on, with why."""

    actor: str
    message: object
    error: BaseException
    at: float  # wall-clock epoch seconds


class DeadLetters:
    """A bounded record of dead letters; `total` counts every one ever recorded."""

    def __init__(
        self, capacity: int = 1000, on_record: Callable[[DeadLetter], None] | None = None
    ) -> None:
        self._letters: deque[DeadLetter] = deque(maxlen=capacity)
        self._on_record = on_record
        self.total = 0

    def record(self, actor: str, message: object, error: BaseException) -> DeadLetter:
        """Keep `message` with the `error` that killed it."""
        letter = DeadLetter(actor, message, error, time.time())
        self._letters.append(letter)
        self.total += 1
        if self._on_record is not None:
            self._on_record(letter)
        return letter

    def __iter__(self) -> Iterator[DeadLetter]:
        return iter(tuple(self._letters))

    def __len__(self) -> int:
        return len(self._letters)
