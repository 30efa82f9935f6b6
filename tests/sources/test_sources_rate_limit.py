from __future__ import annotations

import anyio
import pytest
from anyio.lowlevel import checkpoint

from a1rt.sources import TokenBucket
from actors import ManualClock


class FrozenClock:
    """Time stands still; each sleep is recorded and then parks until released."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.release = anyio.Event()

    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.release.wait()


def test_rate_limit_burst_then_empty() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, clock=ManualClock())
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_rate_limit_refills_at_rate_up_to_burst() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        bucket.try_acquire()
    clock.advance(0.5)
    assert bucket.available() == pytest.approx(1.0)
    clock.advance(0.25)
    assert bucket.available() == pytest.approx(1.5)
    clock.advance(60.0)
    assert bucket.available() == pytest.approx(3.0)


def test_rate_limit_wait_time_until_next_token() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=4.0, burst=1, clock=clock)
    assert bucket.wait_time() == 0.0
    bucket.try_acquire()
    assert bucket.wait_time() == pytest.approx(0.25)
    clock.advance(0.1)
    assert bucket.wait_time() == pytest.approx(0.15)


@pytest.mark.anyio
async def test_rate_limit_acquire_sleeps_exactly_the_wait() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=2.0, burst=2, clock=clock)
    waits = [await bucket.acquire() for _ in range(4)]
    assert waits == [0.0, 0.0, pytest.approx(0.5), pytest.approx(0.5)]
    assert clock.sleeps == [pytest.approx(0.5), pytest.approx(0.5)]
    assert clock.now() == pytest.approx(1.0)


@pytest.mark.anyio
async def test_rate_limit_concurrent_callers_queue_behind_each_other() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(rate=2.0, burst=1, clock=clock)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(bucket.acquire)
            while len(clock.sleeps) < 3:
                await checkpoint()
            clock.release.set()
    # One token free, then each caller waits one more refill than the one before it.
    assert sorted(clock.sleeps) == [pytest.approx(0.5), pytest.approx(1.0), pytest.approx(1.5)]
    assert bucket.available() == pytest.approx(-3.0)


@pytest.mark.anyio
async def test_rate_limit_cancelled_wait_returns_the_token() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    bucket.try_acquire()
    with anyio.move_on_after(0.05):
        await bucket.acquire()
    assert bucket.available() == pytest.approx(0.0)
    assert clock.sleeps == [pytest.approx(1.0)]


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_rate_limit_rejects_bad_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst, clock=ManualClock())
