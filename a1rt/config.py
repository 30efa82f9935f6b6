"""One Settings object, read from `A1RT_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from msgspec import Meta

from .errors import ConfigError

KNOWN_SOURCES = ("simulated", "odds_api", "sportradar", "prizepicks", "espn")

# Older deployments used A1BETTING_*; these names are still read when A1RT_* is unset.
LEGACY_NAMES = frozenset(
    {
        "database_url",
        "redis_url",
        "sportradar_api_key",
        "odds_api_key",
        "prizepicks_api_key",
        "secret_key",
        "environment",
    }
)

Port = Annotated[int, Meta(ge=1, le=65535)]
Positive = Annotated[float, Meta(gt=0)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a1rt can be configured with; each field is `A1RT_<FIELD>`."""

    host: str = "127.0.0.1"
    port: Port = 8000
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    environment: Literal["development", "production", "test"] = "development"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    data_dir: Path = Path(".a1rt")
    models_dir: Path = Path("compiled_models")
    database_url: str | None = None
    redis_url: str | None = None
    # Scale-out (with A1RT_REDIS_URL): the leader lease's TTL in seconds (renewed every ttl/3;
    # a dead leader is replaced within it) and the approximate length of each channel stream.
    lease_ttl: Annotated[float, Meta(ge=0.3, le=60)] = 5.0
    stream_maxlen: Annotated[int, Meta(ge=100)] = 10_000
    sources: tuple[str, ...] = ("simulated",)
    sim_speed: Positive = 60.0
    sim_seed: Annotated[int, Meta(ge=0)] = 7
    # The wall-clock moment (Unix seconds) the simulated world starts from; unset, when the
    # server starts. `--workers N` gives all its replicas one start, so they show one world.
    sim_start: float | None = None
    poll_interval: Positive = 10.0  # seconds between polls of a provider (the simulator: 1)
    source_max_age: Positive = 120.0  # older data makes a source yield to the next one
    odds_api_key: str | None = None
    odds_api_base_url: str = "https://api.the-odds-api.com"
    sportradar_api_key: str | None = None
    sportradar_access_level: Literal["trial", "production"] = "trial"
    sportradar_base_url: str = "https://api.sportradar.com"
    prizepicks_api_key: str | None = None
    prizepicks_base_url: str = "https://api.prizepicks.com"
    espn_base_url: str = "https://site.api.espn.com"
    secret_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    # Per-API-key token buckets (in Redis with A1RT_REDIS_URL, so they hold across replicas):
    # requests per second sustained and at once. Generous by default: one bot at 1000/s fits.
    key_rate: Positive = 2000.0
    key_burst: Annotated[int, Meta(ge=1)] = 4000
    key_rate_prefix: str = "a1rt:ratelimit:"  # Redis key prefix of the buckets
    shutdown_timeout: Annotated[float, Meta(gt=0, le=60)] = 8.0
    model_poll_interval: Positive = 2.0
    # The alert engine: value bets, arbitrage, middles, steam and system alerts.
    value_min_edge: Annotated[float, Meta(ge=0, lt=1)] = 0.02  # p - 1/D a value bet must beat
    kelly_fraction: Annotated[float, Meta(gt=0, le=1)] = 0.25  # of the full Kelly stake
    stale_price_age: Positive = 60.0  # seconds since a price was last seen before it is unused
    middle_min_ev: float = 0.0  # expected profit of a middle's pair (two units) to report it
    sharp_book: str = "pinnacle"  # the book whose moves are steam
    steam_threshold: Annotated[float, Meta(gt=0, lt=1)] = 0.03  # devigged probability points
    steam_points: Annotated[float, Meta(ge=0)] = 1.0  # line move (spreads/totals); 0: off
    steam_window: Positive = 300.0  # seconds
    alert_cooldown: Annotated[float, Meta(ge=0)] = 300.0  # before a resolved alert re-raises
    alert_check_interval: Positive = 5.0  # seconds between system checks
    alert_max_lag: Positive = 60.0  # a source's data lag (seconds) above this alerts
    alert_restart_limit: Annotated[int, Meta(ge=0)] = 3  # restarts of one actor per window
    alert_restart_window: Positive = 300.0
    drift_window: Annotated[int, Meta(ge=1)] = 200  # finished events in the live log loss
    drift_min_samples: Annotated[int, Meta(ge=1)] = 30
    drift_tolerance: Positive = 0.15  # live log loss this much above the evaluation's alerts
    latency_p99_target: Positive = 0.05  # seconds, one ensemble call
    disk_min_free: Annotated[float, Meta(ge=0, lt=1)] = 0.05  # share of the data disk

    def __post_init__(self) -> None:
        unknown = [s for s in self.sources if s not in KNOWN_SOURCES]
        if unknown or not self.sources:
            raise ConfigError(
                f"A1RT_SOURCES: unknown source {', '.join(unknown) or '(empty)'}; "
                f"expected a comma list of {', '.join(KNOWN_SOURCES)}"
            )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read Settings from `environ` (default: the process environment); raise ConfigError."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(Settings):
        var, raw = _lookup(env, field.name)
        if raw is not None:
            values[field.name] = _parse(var, raw, field.type)
    values.update(overrides)
    return Settings(**values)


def _lookup(env: Mapping[str, str], name: str) -> tuple[str, str | None]:
    var = f"A1RT_{name.upper()}"
    if var in env:
        return var, env[var]
    legacy = f"A1BETTING_{name.upper()}"
    if name in LEGACY_NAMES and legacy in env:
        return legacy, env[legacy]
    return var, None


def _parse(var: str, raw: str, annotation: Any) -> Any:
    value: Any = raw.strip()
    if _is_sequence(annotation):
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif value == "" and _is_optional(annotation):
        return None
    try:
        return msgspec.convert(value, annotation, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        reason = str(exc).split(" - at ")[0]
        raise ConfigError(f"{var}={raw!r} is invalid: {reason}{_choices(annotation)}") from exc


def _decode(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError


def _is_sequence(annotation: Any) -> bool:
    return get_origin(annotation) is tuple


def _is_optional(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


def _choices(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return f" (expected one of {', '.join(map(str, get_args(annotation)))})"
    return ""
