from __future__ import annotations

import pytest

from a1rt.sources import BreakerPolicy, BreakerState, CircuitBreaker
from actors import InvalidTransition, ManualClock

POLICY = BreakerPolicy(failure_threshold=3, open_for=10.0, half_open_trials=1)


def make(policy: BreakerPolicy = POLICY) -> tuple[CircuitBreaker, ManualClock, list[str]]:
    clock = ManualClock()
    changes: list[str] = []
    breaker = CircuitBreaker(policy, clock, lambda old, new: changes.append(f"{old}->{new}"))
    return breaker, clock, changes


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    breaker, _, changes = make()
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert changes == ["closed->open"]


def test_breaker_success_resets_the_failure_count() -> None:
    breaker, _, _ = make()
    fail(breaker, 2)
    assert breaker.allow()
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 2


def test_breaker_open_rejects_and_counts_down() -> None:
    breaker, clock, _ = make()
    fail(breaker, 3)
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(10.0)
    clock.advance(4.0)
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(6.0)


def test_breaker_half_open_after_open_time() -> None:
    breaker, clock, changes = make()
    fail(breaker, 3)
    clock.advance(9.99)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.01)
    assert breaker.state is BreakerState.HALF_OPEN
    assert changes == ["closed->open", "open->half_open"]


def test_breaker_half_open_admits_only_the_trial_calls() -> None:
    breaker, clock, _ = make()
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.allow()
    assert not breaker.allow()  # one trial is already out


def test_breaker_half_open_success_closes() -> None:
    breaker, clock, changes = make()
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    assert changes[-1] == "half_open->closed"


def test_breaker_half_open_failure_reopens_for_a_full_period() -> None:
    breaker, clock, changes = make()
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.allow()
    clock.advance(2.0)
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_in() == pytest.approx(10.0)
    assert changes == ["closed->open", "open->half_open", "half_open->open"]


def test_breaker_needs_every_trial_to_succeed() -> None:
    breaker, clock, _ = make(BreakerPolicy(failure_threshold=1, open_for=5.0, half_open_trials=2))
    fail(breaker, 1)
    clock.advance(5.0)
    assert breaker.allow()
    assert breaker.allow()
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_released_trial_frees_its_slot() -> None:
    breaker, clock, _ = make()
    fail(breaker, 3)
    clock.advance(10.0)
    assert breaker.allow()
    breaker.release()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()


def test_breaker_recovers_after_repeated_outages() -> None:
    breaker, clock, _ = make()
    for _ in range(3):
        fail(breaker, 3)
        assert not breaker.allow()
        clock.advance(10.0)
        assert breaker.allow()
        breaker.record_success()
        assert breaker.state is BreakerState.CLOSED


def test_breaker_late_result_while_open_changes_nothing() -> None:
    breaker, _, changes = make()
    assert breaker.allow()  # a slow call starts while closed...
    fail(breaker, 3)
    breaker.record_success()  # ...and finishes after the breaker opened
    assert breaker.state is BreakerState.OPEN
    assert changes == ["closed->open"]


def test_breaker_transitions_are_checked() -> None:
    breaker, _, _ = make()
    with pytest.raises(InvalidTransition):
        breaker._move(BreakerState.HALF_OPEN)  # closed never goes straight to half-open


def test_breaker_policy_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerPolicy(half_open_trials=0)
    with pytest.raises(ValueError):
        BreakerPolicy(open_for=-1.0)
