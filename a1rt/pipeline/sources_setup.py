"""The pollers of A1RT_SOURCES: each provider with its configured client, in priority order."""

from __future__ import annotations

from ..config import Settings
from ..health import HealthRegistry
from ..metrics import Metrics
from ..sources import ResponseCache, SourceClient, config_from_settings
from .poller import Pollable, Poller, Sink
from .simulated_source import SimulatedSource
from .source_status import SourceBoard

SIMULATED_INTERVAL = 1.0  # the simulator is local: poll it every second


def provider_for(settings: Settings, name: str, metrics: Metrics) -> Pollable:
    """The provider called `name`, configured from the settings (imported only when used)."""
    if name == "simulated":
        return SimulatedSource(
            seed=settings.sim_seed, speed=settings.sim_speed, start=settings.sim_start
        )
    if name == "odds_api":
        from ..sources.odds_api import OddsApi

        return OddsApi(metrics=metrics)
    if name == "sportradar":
        from ..sources.sportradar import Sportradar

        return Sportradar(access_level=settings.sportradar_access_level, metrics=metrics)
    if name == "prizepicks":
        from ..sources.prizepicks import PrizePicks

        return PrizePicks(metrics=metrics)
    if name == "espn":
        from ..sources.espn import Espn

        return Espn(metrics=metrics)
    raise ValueError(f"unknown source {name!r}")


def client_for(
    settings: Settings,
    name: str,
    metrics: Metrics,
    health: HealthRegistry,
    cache: ResponseCache | None = None,
) -> SourceClient | None:
    """The shared HTTP client of a provider (None for the simulator); `cache` is the replicas'
    shared response cache when Redis is configured, else each client keeps its own."""
    if name == "simulated":
        return None
    config = config_from_settings(settings, name)
    return SourceClient(config, metrics=metrics, health=health, cache=cache)


def build_pollers(
    settings: Settings,
    board: SourceBoard,
    sink: Sink,
    metrics: Metrics,
    health: HealthRegistry,
    *,
    cache: ResponseCache | None = None,
) -> list[Poller]:
    """One poller per configured source."""
    pollers = []
    for name in settings.sources:
        interval = SIMULATED_INTERVAL if name == "simulated" else settings.poll_interval
        pollers.append(
            Poller(
                provider_for(settings, name, metrics),
                client_for(settings, name, metrics, health, cache),
                sink,
                board,
                interval=interval,
            )
        )
    return pollers
