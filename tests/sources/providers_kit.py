"""What the provider tests share: a fast client, the Worlds behind the emulators, the faults and
the SourceError each raises, and reading the sources' metrics."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any

import pytest

from a1rt.health import HealthRegistry
from a1rt.metrics import Metrics
from a1rt.models.simulation.world import World
from a1rt.sources import (
    ApiKey,
    MemoryCache,
    RedisCache,
    RetryPolicy,
    SourceAuthError,
    SourceBadResponse,
    SourceClient,
    SourceConfig,
    SourceConnectionError,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceServerError,
    SourceTimeout,
    Timeouts,
)
from actors import ManualClock
from tests.emulators.base import Fault, FaultKind

SEED, SPEED = 11, 60.0  # the emulators' World defaults
RETRY = RetryPolicy(attempts=3, base=0.5, cap=4.0, max_retry_after=30.0)  # ManualClock sleeps
TIMEOUTS = Timeouts(connect=1.0, read=0.3, total=3.0)
SLOW = 0.6  # seconds a "slow" fault waits: past TIMEOUTS.read
SKIP_REASONS = ("KeyError", "TypeError", "ValueError", "AttributeError", "NotAList")

# The SourceError every fault kind raises, retries used up.
FAULT_ERRORS: dict[FaultKind, type[SourceError]] = {
    "unauthorized": SourceAuthError,
    "forbidden": SourceAuthError,
    "unprocessable": SourceRequestError,
    "rate_limited": SourceRateLimited,
    "rate_limited_bare": SourceRateLimited,
    "server_error": SourceServerError,
    "slow": SourceTimeout,
    "truncated": SourceBadResponse,
    "garbage": SourceBadResponse,
    "html": SourceBadResponse,
    "down": SourceConnectionError,
}
# The `reason` label of a1rt_source_retries_total for a passing fault.
RETRY_REASONS: dict[FaultKind, str] = {
    "rate_limited": "rate_limited",
    "rate_limited_bare": "rate_limited",
    "server_error": "server_error",
    "slow": "timeout",
    "down": "connection_error",
}


def make_client(
    source: str,
    base_url: str,
    *,
    api_key: str | ApiKey | None = None,
    metrics: Metrics | None = None,
    clock: ManualClock | None = None,
    seed: int = 3,
    health: HealthRegistry | None = None,
    cache: MemoryCache | RedisCache | None = None,
    **overrides: Any,
) -> SourceClient:
    """A client of `source` with fast retries and short timeouts on a ManualClock; `api_key` is
    a key placed as the provider wants, or an ApiKey placed as it says; `overrides` replace any
    SourceConfig field."""
    key = api_key if isinstance(api_key, str) else None
    settings: dict[str, Any] = {"retry": RETRY, "timeouts": TIMEOUTS, "rate": 1000.0, "burst": 100}
    config = SourceConfig.for_provider(source, base_url, api_key=key, **settings)
    if isinstance(api_key, ApiKey):
        overrides = {"api_key": api_key, **overrides}
    return SourceClient(
        dataclasses.replace(config, **overrides),
        metrics=metrics if metrics is not None else Metrics(),
        clock=clock if clock is not None else ManualClock(),
        rng=random.Random(seed),
        health=health,
        cache=cache,
    )


def built_worlds(
    moments: Mapping[str, float], *, start: float, seed: int = SEED, speed: float = SPEED
) -> dict[str, World]:
    """One World per sport of `moments`, its season built up to that moment (before any
    request can time out), for the emulators' `worlds=`."""
    worlds = {sport: World(seed, sport, start, speed) for sport in moments}
    for sport, world in worlds.items():
        world.state_at(moments[sport])
    return worlds


def fault_cases(*extra: tuple[Fault, type[SourceError]], delay: float = SLOW) -> list[Any]:
    """`(fault, raised)` parameters: every fault kind and the SourceError it raises, then the
    `extra` ones; a "slow" fault waits `delay` seconds."""
    cases = [(Fault(kind, delay=delay), error) for kind, error in FAULT_ERRORS.items()]
    return [pytest.param(fault, error, id=fault_id(fault)) for fault, error in [*cases, *extra]]


def fault_id(fault: Fault) -> str:
    """A test id for `fault`: its kind, and its status when one is set."""
    return fault.kind if fault.status is None else f"{fault.kind}_{fault.status}"


def sample(metrics: Metrics, name: str, source: str, **labels: str) -> float | None:
    """The value of metric `name` for `source` and `labels`; None when it was never set."""
    return metrics.registry.get_sample_value(name, {"source": source, **labels})


def skips(
    metrics: Metrics, source: str, reasons: tuple[str, ...] = SKIP_REASONS
) -> dict[str, float | None]:
    """Records of `source` skipped, by reason."""
    return {
        reason: sample(metrics, "a1rt_source_records_skipped_total", source, reason=reason)
        for reason in reasons
    }


def skipped(metrics: Metrics, source: str) -> float:
    """Records of `source` skipped, for any reason."""
    return sum(count or 0.0 for count in skips(metrics, source).values())
