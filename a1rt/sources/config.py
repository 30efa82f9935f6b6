"""How one source's client behaves: where it calls, with which key, how fast and how patiently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .. import __version__
from ..config import Settings
from .breaker import BreakerPolicy
from .providers import ApiKey, provider_defaults
from .retry import RetryPolicy

# Identifying, not a browser: ESPN's WAF refuses browser-like and empty user agents (§4).
USER_AGENT = f"a1rt/{__version__} (+https://github.com/a1rt)"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, between two reads of the body, and for the whole request."""

    connect: float = 5.0
    read: float = 10.0
    total: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceConfig:
    """Everything one source's `SourceClient` needs; `for_provider` fills in the defaults."""

    source: str
    base_url: str
    api_key: ApiKey | None = None
    rate: float = 1.0
    burst: int = 1
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    cache_ttl: float = 0.0  # seconds a 200 is reused; 0 means only per-call `ttl` caches
    track_quota: bool = False
    user_agent: str = USER_AGENT
    headers: Mapping[str, str] = field(default_factory=lambda: {"Accept": "application/json"})
    max_connections: int = 10
    max_body_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"{self.source}: base_url must be http(s)://, not {self.base_url!r}")
        if self.cache_ttl < 0 or self.max_connections < 1 or self.max_body_bytes < 1:
            raise ValueError(
                f"{self.source}: cache_ttl must be >= 0, max_connections and max_body_bytes >= 1"
            )

    @classmethod
    def for_provider(
        cls, source: str, base_url: str, *, api_key: str | None = None, **overrides: Any
    ) -> SourceConfig:
        """The config for a known provider: its rate, burst, key placement and quota tracking
        (from `providers.PROVIDERS`), with any field overridden by keyword."""
        defaults = provider_defaults(source)
        config = cls(
            source=source,
            base_url=base_url,
            api_key=defaults.api_key(api_key),
            rate=defaults.rate,
            burst=defaults.burst,
            track_quota=defaults.tracks_quota,
        )
        return replace(config, **overrides)


def config_from_settings(settings: Settings, source: str, **overrides: Any) -> SourceConfig:
    """The config for `source` from the A1RT_* settings (its base URL and key)."""
    base_urls = {
        "odds_api": settings.odds_api_base_url,
        "sportradar": settings.sportradar_base_url,
        "prizepicks": settings.prizepicks_base_url,
        "espn": settings.espn_base_url,
    }
    keys = {"odds_api": settings.odds_api_key, "sportradar": settings.sportradar_api_key}
    if source not in base_urls:
        raise ValueError(f"{source!r} is not an HTTP provider ({', '.join(base_urls)})")
    return SourceConfig.for_provider(
        source, base_urls[source], api_key=keys.get(source), **overrides
    )
