"""Reconnect delays: doubling to a cap, jittered below the nominal delay, reset by stability."""

from __future__ import annotations

import random

from a1rt.client import Backoff


def test_backoff_doubles_to_the_cap_with_jitter_and_resets_after_a_stable_connection() -> None:
    now = [0.0]
    backoff = Backoff(base=1.0, cap=8.0, jitter=0.5, stable=10.0, clock=lambda: now[0],
                      rng=random.Random(7))  # fmt: skip
    delays = [backoff.next() for _ in range(6)]
    nominal = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(n * 0.5 <= d <= n for d, n in zip(delays, nominal, strict=True)), delays
    assert len(set(delays)) == len(delays)  # jittered, not in step
    backoff.connected()
    now[0] += 3.0  # dropped again before it proved stable: keep backing off
    assert backoff.next() >= 4.0
    backoff.connected()
    now[0] += 10.0
    assert backoff.next() <= 1.0  # stable for 10 s: start over
