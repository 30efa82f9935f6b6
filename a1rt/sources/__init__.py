"""Provider data for the pollers, and the resilient HTTP layer they share.

`SourceClient` is one provider's client: a pooled aiohttp session with timeouts, a token bucket,
retries with full-jitter backoff (honouring Retry-After), a circuit breaker, a TTL response
cache (memory or Redis) and, for The Odds API, quota tracking that paces polling. Every failure
is a `SourceError`; `parse_records` keeps one bad record from spoiling a payload.
"""

from __future__ import annotations

from ._exceptions import (
    SourceAuthError,
    SourceBadResponse,
    SourceConnectionError,
    SourceError,
    SourceQuotaExceeded,
    SourceRateLimited,
    SourceRequestError,
    SourceServerError,
    SourceTimeout,
    SourceUnavailable,
)
from ._transport import Params
from .breaker import BreakerPolicy, BreakerState, CircuitBreaker
from .cache import CachedResponse, MemoryCache, RedisCache, ResponseCache, cache_key
from .client import JsonRequest, SourceClient
from .config import USER_AGENT, SourceConfig, Timeouts, config_from_settings
from .providers import PROVIDERS, ApiKey, ProviderDefaults, provider_defaults
from .quota import QuotaTracker, next_reset
from .rate_limit import TokenBucket
from .records import RECORD_ERRORS, parse_records
from .response import JsonType, SourceResponse
from .retry import RetryPolicy, parse_http_date, parse_retry_after

__all__ = [
    "PROVIDERS",
    "RECORD_ERRORS",
    "USER_AGENT",
    "ApiKey",
    "BreakerPolicy",
    "BreakerState",
    "CachedResponse",
    "CircuitBreaker",
    "JsonRequest",
    "JsonType",
    "MemoryCache",
    "Params",
    "ProviderDefaults",
    "QuotaTracker",
    "RedisCache",
    "ResponseCache",
    "RetryPolicy",
    "SourceAuthError",
    "SourceBadResponse",
    "SourceClient",
    "SourceConfig",
    "SourceConnectionError",
    "SourceError",
    "SourceQuotaExceeded",
    "SourceRateLimited",
    "SourceRequestError",
    "SourceResponse",
    "SourceServerError",
    "SourceTimeout",
    "SourceUnavailable",
    "Timeouts",
    "TokenBucket",
    "cache_key",
    "config_from_settings",
    "next_reset",
    "parse_http_date",
    "parse_records",
    "parse_retry_after",
    "provider_defaults",
]
