"""The Odds API v4 emulator (reference/providers.md §1), rendered from the simulated World.

Serves `/v4/sports`, `/v4/sports/{sport}/odds` and `/v4/sports/{sport}/scores` in the real
shapes: 32-hex event ids, ISO `Z` times (or unix), decimal or american prices, scores as strings
and `null` before the start, `completed`. The key is checked (`apiKey` or `api_key`); every
answer carries x-requests-remaining/-used/-last; odds cost markets x regions (0 when empty),
scores 1 (2 with daysFrom); refusals carry the provider's own error bodies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from a1rt.betting import decimal_to_american
from a1rt.models.simulation.books import BOOKS
from a1rt.models.simulation.views import BookMarket, GameView, WorldState

from .base import Emulator

KEY = "odds-api-test-key-0123456789"
DETAILS = "https://the-odds-api.com/liveapi/guides/v4/api-error-codes.html#"
TITLES = {"basketball_nba": "NBA", "americanfootball_nfl": "NFL", "soccer_epl": "EPL"}
GROUPS = {"basketball_nba": "Basketball", "americanfootball_nfl": "American Football",
          "soccer_epl": "Soccer"}  # fmt: skip
REGIONS = {"pinnacle": "eu", "draftkings": "us", "fanduel": "us", "betmgm": "us", "caesars": "us"}
ALL_REGIONS = frozenset({"us", "us2", "uk", "au", "eu"})
FEATURED = ("h2h", "spreads", "totals")
ERRORS: dict[str, tuple[int, str]] = {
    "MISSING_KEY": (401, "API key is missing"),
    "INVALID_KEY": (401, "API key is not valid. Get an API key at https://the-odds-api.com"),
    "OUT_OF_USAGE_CREDITS": (
        401, "Usage quota has been reached. See usage plans at https://the-odds-api.com"),
    "HISTORICAL_UNAVAILABLE_ON_FREE_USAGE_PLAN": (
        403, "Historical data is not available on the free usage plan"),
    "UNKNOWN_SPORT": (404, "Unknown sport"),
    "MISSING_REGION": (422, "Missing regions or bookmakers key"),
    "INVALID_REGION": (422, "Invalid regions"),
    "MISSING_MARKET": (422, "Missing markets"),
    "INVALID_MARKET": (422, "Markets not supported by this endpoint"),
    "INVALID_ODDS_FORMAT": (422, "Invalid oddsFormat"),
    "INVALID_DATE_FORMAT": (422, "Invalid dateFormat"),
    "INVALID_SCORES_DAYS_FROM": (422, "Invalid daysFrom, must be an integer between 1 and 3"),
    "EXCEEDED_FREQ_LIMIT": (
        429, "Requests are being sent too frequently, currently 30 API calls per second"),
}  # fmt: skip
_DEFAULT_CODE = {
    401: "INVALID_KEY",
    403: "HISTORICAL_UNAVAILABLE_ON_FREE_USAGE_PLAN",
    404: "UNKNOWN_SPORT",
    422: "MISSING_REGION",
    429: "EXCEEDED_FREQ_LIMIT",
}
# a typed request key where aiohttp has them (3.12+ warns about plain string keys)
_COST: Any = web.RequestKey("odds_api.cost", int) if hasattr(web, "RequestKey") else "odds_api.cost"

Transform = Callable[[str, list[Any]], list[Any]]


def event_id(world_id: str) -> str:
    """The 32-hex Odds API id the emulator gives a World event."""
    return hashlib.blake2b(world_id.encode(), digest_size=16).hexdigest()


def shown_price(price: float, odds_format: str = "decimal") -> float:
    """A World price as the emulator sends it: 2 decimals, or whole american odds."""
    if odds_format == "american":
        return float(round(decimal_to_american(price)))
    return max(round(price, 2), 1.01)


def error_body(code: str, message: str | None = None) -> dict[str, str]:
    """The Odds API's error body for `code`."""
    return {"message": message or ERRORS[code][1], "error_code": code,
            "details_url": DETAILS + code.lower().replace("_", "-")}  # fmt: skip


class OddsApiEmulator(Emulator):
    """The Odds API on 127.0.0.1: `credits` left on the key; `transform(kind, body)` may edit a
    body ("odds" or "scores") before it is sent, to inject malformed records."""

    name = "odds_api"

    def __init__(
        self,
        sports: tuple[str, ...] = ("basketball_nba",),
        *,
        key: str = KEY,
        credits: int = 500,
        **options: Any,
    ) -> None:
        super().__init__(sports, **options)
        self.key = key
        self.remaining = credits
        self.used = 0
        self.transform: Transform | None = None
        self._refused = "INVALID_KEY"  # why the last `authorised` said no

    def routes(self) -> list[web.RouteDef]:
        endpoints = {
            "/v4/sports": self.sports_list,
            "/v4/sports/{sport}/odds": self.odds,
            "/v4/sports/{sport}/scores": self.scores,
        }
        routes = []
        for path, handler in endpoints.items():
            routes += [web.get(path, handler), web.get(path + "/", handler)]
        return routes

    def authorised(self, request: web.Request) -> bool:
        key = request.query.get("apiKey", request.query.get("api_key"))
        self._refused = "MISSING_KEY" if not key else "INVALID_KEY"
        return key == self.key

    def refusal(self, status: int) -> web.Response:
        code = self._refused if status == 401 else _DEFAULT_CODE.get(status)
        self._refused = "INVALID_KEY"
        if code is None:
            return web.json_response({"message": f"HTTP {status}"}, status=status)
        return web.json_response(error_body(code), status=status)

    def quota_headers(self, cost: int) -> dict[str, str]:
        return {"x-requests-remaining": str(self.remaining), "x-requests-used": str(self.used),
                "x-requests-last": str(cost)}  # fmt: skip

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await super()._middleware(request, handler)
        if not response.prepared:
            response.headers.update(self.quota_headers(request.get(_COST, 0)))
        return response

    # --- endpoints ------------------------------------------------------------------------

    async def sports_list(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([
            {"key": sport, "group": GROUPS[sport], "title": TITLES[sport],
             "description": TITLES[sport], "active": True, "has_outrights": False}
            for sport in self.worlds
        ])  # fmt: skip

    async def odds(self, request: web.Request) -> web.StreamResponse:
        sport, query = request.match_info["sport"], request.query
        regions, books = _list(query.get("regions")), _list(query.get("bookmakers"))
        markets = _list(query.get("markets", "h2h"))
        odds_format = query.get("oddsFormat", "decimal")
        problem = (
            "UNKNOWN_SPORT" if sport not in self.worlds
            else "MISSING_REGION" if not regions and not books
            else "INVALID_REGION" if not books and not set(regions) <= ALL_REGIONS
            else "MISSING_MARKET" if not markets
            else "INVALID_MARKET" if not set(markets) <= set(FEATURED)
            else "INVALID_ODDS_FORMAT" if odds_format not in ("decimal", "american")
            else self._date_problem(query)
        )  # fmt: skip
        if problem is not None:
            bad = ",".join(m for m in markets if m not in FEATURED)
            message = f"Markets not supported by this endpoint: {bad}" if bad else None
            return self._error(problem, message if problem == "INVALID_MARKET" else None)
        chosen = set(books) if books else {b for b, region in REGIONS.items() if region in regions}
        body = self.render_odds(self.state(sport), markets, chosen, odds_format,
                                query.get("dateFormat", "iso"))  # fmt: skip
        if self.transform is not None:
            body = self.transform("odds", body)
        width = -(-len(books) // 10) if books else len(regions)
        return self._charged(request, body, len(markets) * width if body else 0)

    async def scores(self, request: web.Request) -> web.StreamResponse:
        sport, query = request.match_info["sport"], request.query
        days = query.get("daysFrom")
        problem = (
            "UNKNOWN_SPORT" if sport not in self.worlds
            else "INVALID_SCORES_DAYS_FROM" if days is not None and days not in ("1", "2", "3")
            else self._date_problem(query)
        )  # fmt: skip
        if problem is not None:
            return self._error(problem)
        unix = query.get("dateFormat", "iso") == "unix"
        body = self.render_scores(self.state(sport), completed=days is not None, unix=unix)
        if self.transform is not None:
            body = self.transform("scores", body)
        return self._charged(request, body, 1 if days is None else 2)

    # --- rendering ------------------------------------------------------------------------

    def render_odds(
        self,
        state: WorldState,
        markets: list[str],
        books: set[str],
        odds_format: str = "decimal",
        date_format: str = "iso",
    ) -> list[dict[str, Any]]:
        """The /odds body: every game not yet final, with the chosen books' markets."""
        priced: dict[str, dict[str, list[BookMarket]]] = {}
        for market in state.markets:
            if market.book in books and market.market in markets:
                priced.setdefault(market.event_id, {}).setdefault(market.book, []).append(market)
        titles = {book.key: book.title for book in BOOKS}
        unix = date_format == "unix"
        out = []
        for game in state.games:
            if game.status == "final":
                continue  # /odds never returns completed events
            bookmakers = []
            for book, quotes in priced.get(game.event_id, {}).items():
                bookmakers.append({
                    "key": book, "title": titles[book],
                    "last_update": _time(max(q.last_update for q in quotes), unix),
                    "markets": [_market(q, odds_format, unix) for q in quotes],
                })  # fmt: skip
            out.append({**_event(game, unix), "bookmakers": bookmakers})
        return out

    def render_scores(
        self, state: WorldState, *, completed: bool = True, unix: bool = False
    ) -> list[dict[str, Any]]:
        """The /scores body: live and upcoming games, and finished ones when `completed`."""
        out = []
        for game in state.games:
            if game.status == "final" and not completed:
                continue
            started = game.status != "scheduled"
            scores = [{"name": game.home_team, "score": str(game.home_score)},
                      {"name": game.away_team, "score": str(game.away_score)}]  # fmt: skip
            out.append({
                **_event(game, unix), "completed": game.status == "final",
                "scores": scores if started else None,
                "last_update": _time(state.time, unix) if started else None,
            })  # fmt: skip
        return out

    # --- helpers --------------------------------------------------------------------------

    def _date_problem(self, query: Any) -> str | None:
        return None if query.get("dateFormat", "iso") in ("iso", "unix") else "INVALID_DATE_FORMAT"

    def _error(self, code: str, message: str | None = None) -> web.Response:
        return web.json_response(error_body(code, message), status=ERRORS[code][0])

    def _charged(self, request: web.Request, body: list[Any], cost: int) -> web.Response:
        if cost > self.remaining:
            return self._error("OUT_OF_USAGE_CREDITS")
        self.remaining -= cost
        self.used += cost
        request[_COST] = cost
        return web.json_response(body)


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _time(epoch: float, unix: bool) -> str | int:
    if unix:
        return int(epoch)
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(game: GameView, unix: bool) -> dict[str, Any]:
    return {"id": event_id(game.event_id), "sport_key": game.sport,
            "sport_title": TITLES[game.sport], "commence_time": _time(game.commence_time, unix),
            "home_team": game.home_team, "away_team": game.away_team}  # fmt: skip


def _market(quote: BookMarket, odds_format: str, unix: bool) -> dict[str, Any]:
    outcomes = []
    for outcome in quote.outcomes:
        price = shown_price(outcome.price, odds_format)
        shown: dict[str, Any] = {
            "name": outcome.name,
            "price": int(price) if odds_format == "american" else price,
        }
        if outcome.point is not None:
            shown["point"] = outcome.point
        outcomes.append(shown)
    return {"key": quote.market, "last_update": _time(quote.last_update, unix),
            "outcomes": outcomes}  # fmt: skip
