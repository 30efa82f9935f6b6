from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1rt.sources import RetryPolicy, parse_http_date, parse_retry_after

NOW = datetime(2024, 5, 3, 0, 0, 0, tzinfo=UTC)


def test_retry_ceiling_doubles_then_caps() -> None:
    policy = RetryPolicy(attempts=8, base=0.5, cap=8.0)
    assert [policy.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_backoff_is_full_jitter_within_each_ceiling() -> None:
    policy = RetryPolicy(attempts=10, base=0.5, cap=8.0)
    rng = random.Random(7)
    for retry in range(6):
        draws = [policy.backoff(retry, rng) for _ in range(500)]
        ceiling = policy.ceiling(retry)
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter covers the whole range, not just its top.
        assert min(draws) < 0.1 * ceiling
        assert max(draws) > 0.9 * ceiling


def test_retry_backoff_is_reproducible_from_the_seed() -> None:
    policy = RetryPolicy()
    first = [policy.backoff(n, random.Random(42)) for n in range(3)]
    again = [policy.backoff(n, random.Random(42)) for n in range(3)]
    assert first == again


@given(retry=st.integers(0, 200), seed=st.integers(0, 2**32))
def test_retry_backoff_never_exceeds_cap(retry: int, seed: int) -> None:
    policy = RetryPolicy(attempts=500, base=0.25, cap=5.0)
    delay = policy.backoff(retry, random.Random(seed))
    assert 0.0 <= delay <= 5.0


def test_retry_delay_stops_after_the_last_attempt() -> None:
    policy = RetryPolicy(attempts=3)
    rng = random.Random(1)
    assert policy.delay(0, rng, None) is not None
    assert policy.delay(1, rng, None) is not None
    assert policy.delay(2, rng, None) is None


def test_retry_delay_single_attempt_never_retries() -> None:
    assert RetryPolicy(attempts=1).delay(0, random.Random(1), None) is None


def test_retry_delay_honours_retry_after_up_to_the_max_wait() -> None:
    policy = RetryPolicy(attempts=3, max_retry_after=30.0)
    rng = random.Random(1)
    assert policy.delay(0, rng, 12.5) == 12.5
    assert policy.delay(0, rng, 30.0) == 30.0
    assert policy.delay(0, rng, 30.1) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0), ("-5", 0.0)],
)
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date_is_measured_from_now() -> None:
    assert parse_retry_after("Fri, 03 May 2024 00:00:30 GMT", NOW) == 30.0


def test_retry_after_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Thu, 02 May 2024 23:59:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "inf", "nan", "Fri, 99 Foo 2024"])
def test_retry_after_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_http_date_parses_rfc_7231() -> None:
    assert parse_http_date("Fri, 03 May 2024 00:00:30 GMT") == datetime(
        2024, 5, 3, 0, 0, 30, tzinfo=UTC
    )
    assert parse_http_date("yesterday") is None


def test_retry_policy_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=-1.0)
