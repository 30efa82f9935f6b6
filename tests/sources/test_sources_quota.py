from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1rt.sources import QuotaTracker, next_reset

NOW = datetime(2024, 5, 21, 0, 0, tzinfo=UTC)
ELEVEN_DAYS = 11 * 86400.0


def tracker(*, reserve: float = 10.0, safety: float = 1.2) -> QuotaTracker:
    return QuotaTracker(reserve=reserve, safety=safety, now=lambda: NOW)


def headers(remaining: str, used: str = "0", last: str = "1") -> dict[str, str]:
    return {"x-requests-remaining": remaining, "x-requests-used": used, "x-requests-last": last}


def test_quota_reads_the_three_headers() -> None:
    quota = tracker()
    assert quota.update(headers("480", "20", "2"))
    assert (quota.remaining, quota.used, quota.last) == (480.0, 20.0, 2.0)


def test_quota_ignores_missing_or_garbled_headers() -> None:
    quota = tracker()
    quota.update(headers("480", "20", "2"))
    assert not quota.update({"content-type": "application/json"})
    assert quota.update(
        {"x-requests-remaining": "lots", "x-requests-used": "-3", "x-requests-last": "1"}
    )
    assert (quota.remaining, quota.used) == (480.0, 20.0)


def test_quota_unknown_keeps_the_base_interval() -> None:
    assert tracker().poll_interval(30.0) == 30.0


def test_quota_plentiful_keeps_the_base_interval() -> None:
    quota = tracker()
    quota.update(headers("500000"))
    assert quota.poll_interval(30.0) == 30.0


def test_quota_stretches_as_remaining_falls() -> None:
    quota = tracker(reserve=10.0, safety=1.2)
    intervals = []
    for remaining in ("100000", "20010", "5010", "1010"):
        quota.update(headers(remaining))
        intervals.append(quota.poll_interval(30.0))
    assert intervals[0] == 30.0
    assert intervals == sorted(intervals)
    assert intervals[1] == pytest.approx(1.2 * ELEVEN_DAYS / 20000)
    assert intervals[3] == pytest.approx(1.2 * ELEVEN_DAYS / 1000)


def test_quota_cost_per_poll_scales_the_interval() -> None:
    quota = tracker(reserve=0.0, safety=1.0)
    quota.update(headers("11000", last="3"))
    assert quota.mean_cost() == 3.0
    assert quota.poll_interval(1.0, requests_per_poll=4) == pytest.approx(12 * ELEVEN_DAYS / 11000)


def test_quota_spent_waits_for_the_reset() -> None:
    quota = tracker()
    quota.update(headers("0"))
    assert quota.poll_interval(30.0) == pytest.approx(ELEVEN_DAYS)
    quota = tracker()
    quota.exhausted()
    assert quota.poll_interval(30.0) == pytest.approx(ELEVEN_DAYS)


@given(
    remaining=st.integers(11, 10**7),
    cost=st.integers(0, 50),
    base=st.floats(0.5, 600.0),
    polls_per_cycle=st.integers(1, 20),
)
def test_quota_never_runs_out_before_the_reset(
    remaining: int, cost: int, base: float, polls_per_cycle: int
) -> None:
    quota = tracker(reserve=10.0)
    quota.update(headers(str(remaining), last=str(cost)))
    interval = quota.poll_interval(base, requests_per_poll=polls_per_cycle)
    polls_until_reset = quota.seconds_to_reset() / interval
    assert polls_until_reset * cost * polls_per_cycle <= remaining - 10
    assert interval >= base


@pytest.mark.parametrize(
    ("now", "day", "expected"),
    [
        (datetime(2024, 5, 21, tzinfo=UTC), 1, datetime(2024, 6, 1, tzinfo=UTC)),
        (datetime(2024, 12, 31, 23, tzinfo=UTC), 1, datetime(2025, 1, 1, tzinfo=UTC)),
        (datetime(2024, 5, 1, 0, 0, tzinfo=UTC), 1, datetime(2024, 6, 1, tzinfo=UTC)),
        (datetime(2024, 5, 10, tzinfo=UTC), 15, datetime(2024, 5, 15, tzinfo=UTC)),
        (datetime(2024, 2, 10, tzinfo=UTC), 31, datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_quota_next_reset(now: datetime, day: int, expected: datetime) -> None:
    assert next_reset(now, day) == expected


def test_quota_rejects_a_day_that_is_not_one() -> None:
    with pytest.raises(ValueError):
        QuotaTracker(reset_day=0)
