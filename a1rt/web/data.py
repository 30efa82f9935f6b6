"""`/api/v2/data/*` and `/api/v2/sources`: the merged live games, a fetch through a source, and
each source's health."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from ..messages import GameState, OddsUpdate
from ..pipeline import Runtime
from ..pipeline.feature_cache import LiveEvent
from ..sources import SourceError
from ..sources.provider import SPORTS
from .predict import runtime_of
from .problems import Problem
from .responses import json_response


def _sport(sport: str | None, *, required: bool = False) -> str | None:
    if sport is None:
        if required:
            raise Problem(422, f"sport: required (one of {', '.join(SPORTS)})")
        return None
    if sport not in SPORTS:
        raise Problem(422, f"sport: unknown sport {sport!r} (expected one of {', '.join(SPORTS)})")
    return sport


def live_game(runtime: Runtime, event: LiveEvent) -> dict[str, Any] | None:
    """One merged game as `/api/v2/data/live-games` shows it."""
    game = runtime.feature_cache.merged_game(event)
    if game is None:
        return None
    odds = [_odds(path[-1]) for path in event.odds.values()]
    prediction = _latest(event)
    return {
        "event_id": event.event_id,
        "sport": event.sport,
        "home_team": event.home_team,
        "away_team": event.away_team,
        "commence_time": event.commence_time,
        "status": game.status,
        "home_score": game.home_score,
        "away_score": game.away_score,
        "period": game.period,
        "clock": game.clock,
        "odds": odds,
        "sources": sorted({g.source for g in event.games.values()}),
        "source": game.source,
        "updated_at": event.updated_at,
        "prediction": None if prediction is None else msgspec.to_builtins(prediction),
        "predictions": {m: msgspec.to_builtins(p) for m, p in event.predictions.items()},
    }


def _latest(event: LiveEvent) -> Any:
    h2h = event.predictions.get(f"{event.sport}_h2h")
    if h2h is not None:
        return h2h
    return max(event.predictions.values(), key=lambda p: p.created_at, default=None)


def _odds(update: OddsUpdate) -> dict[str, Any]:
    return {
        "book": update.book,
        "market": update.market,
        "outcomes": [msgspec.to_builtins(o) for o in update.outcomes],
        "updated_at": update.source_time or update.received_at,
        "source": update.source,
    }


class DataController(Controller):
    """Live games, fetches through a source, and the sources' health."""

    path = "/api/v2"
    tags = ["data"]

    @get("/data/live-games", summary="Merged games across sources, with odds and predictions")
    async def live_games(
        self,
        request: Request[Any, Any, Any],
        sport: str | None = Parameter(default=None, description="e.g. basketball_nba"),
        status: str | None = Parameter(default=None, description="scheduled, in_progress, ..."),
    ) -> Response[bytes]:
        runtime = runtime_of(request)
        wanted = _sport(sport)
        games = []
        for event in list(runtime.feature_cache.events.values()):
            if wanted is not None and event.sport != wanted:
                continue
            shown = live_game(runtime, event)
            if shown is not None and (status is None or shown["status"] == status):
                games.append(shown)
        games.sort(key=lambda g: (g["commence_time"], g["event_id"]))
        return json_response({"games": games, "count": len(games)})

    @get("/data/fetch", summary="Fetch from one source now (through its cache and rate limit)")
    async def fetch(
        self,
        request: Request[Any, Any, Any],
        source: str = Parameter(description="a configured source, e.g. simulated"),
        sport: str = Parameter(description="e.g. basketball_nba"),
    ) -> Response[bytes]:
        runtime = runtime_of(request)
        checked = _sport(sport, required=True)
        poller = next((p for p in runtime.pollers if p.provider.name == source), None)
        if poller is None:
            configured = ", ".join(p.provider.name for p in runtime.pollers) or "none"
            raise Problem(404, f"source: {source!r} is not configured (configured: {configured})")
        if checked not in poller.provider.sports:
            raise Problem(422, f"sport: {source} does not cover {checked}")
        try:
            messages = await poller.fetch(checked)
        except SourceError as exc:
            raise Problem(502, f"{source}: {exc}") from exc
        games = [msgspec.to_builtins(m) for m in messages if isinstance(m, GameState)]
        odds = [msgspec.to_builtins(m) for m in messages if isinstance(m, OddsUpdate)]
        props = [
            msgspec.to_builtins(m) for m in messages if not isinstance(m, GameState | OddsUpdate)
        ]
        return json_response({"source": source, "sport": checked, "games": games, "odds": odds,
                      "props": props})  # fmt: skip

    @get("/sources", summary="Each source: breaker state, last success and error, lag, quota")
    async def sources(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        runtime = runtime_of(request)
        return json_response({"sources": [s.as_dict() for s in runtime.board.all()]})
