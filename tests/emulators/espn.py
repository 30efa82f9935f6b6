"""The ESPN site API scoreboard emulator (reference/providers.md §4), rendered from the World.

Serves `/apis/site/v2/sports/{sport}/{league}/scoreboard`: events → competitions → competitors
(homeAway, team.displayName, score strings), status.type.state pre/in/post with `clock`,
`displayClock` and `period`, and for games not yet started an `odds` entry from one World book
(american quotes, both the long-standing and the newer nested fields). No auth; browser-like
or empty User-Agents get Akamai's 403 page (`block_browsers`); date ranges get the 400 body;
`limit` of 600 or more is cut to 25 events.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from a1rt.betting import decimal_to_american
from a1rt.models.simulation.books import BOOKS
from a1rt.models.simulation.sports import rules
from a1rt.models.simulation.views import BookMarket, GameView, WorldState

from .base import Emulator

LEAGUES = {"basketball/nba": "basketball_nba", "football/nfl": "americanfootball_nfl",
           "soccer/eng.1": "soccer_epl"}  # fmt: skip
DATE_RANGE = {"code": 400, "message": "Failed to get events endpoint."}
ACCESS_DENIED = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \n"
    "You don't have permission to access \"http&#58;&#47;&#47;site&#46;api&#46;espn&#46;com&#47;"
    '" on this server.<P>\nReference&#32;&#35;18&#46;2f3b1402&#46;1754300000&#46;1a2b3c4d\n'
    "</BODY>\n</HTML>\n"
)
_BROWSERS = re.compile(r"^(mozilla|node-fetch|deno|bun)|chrome|safari", re.IGNORECASE)
_EASTERN = timedelta(hours=-5)  # game days are bucketed by US-Eastern date
_COUNTS_UP = frozenset({"soccer_epl"})

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def event_id(world_id: str) -> str:
    """The numeric ESPN id the emulator gives a World event ("sim-…-001-0024" → "4010010024")."""
    season, game = world_id.rsplit("-", 2)[1:]
    return f"401{int(season):03d}{int(game):04d}"


def american(price: float) -> int:
    """A World decimal price as the whole american odds ESPN shows."""
    return int(round(decimal_to_american(price)))


def _signed(value: float) -> str:
    return f"{value:+g}"


class EspnEmulator(Emulator):
    """ESPN's scoreboard on 127.0.0.1; odds come from World book `odds_book` (None: no odds),
    and `transform(body)` may edit a body before it is sent."""

    name = "espn"

    def __init__(
        self,
        sports: tuple[str, ...] = ("basketball_nba",),
        *,
        odds_book: str | None = "draftkings",
        block_browsers: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(sports, **options)
        self.odds_book = odds_book
        self.block_browsers = block_browsers
        self.transform: Transform | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/apis/site/v2/sports/{sport}/{league}/scoreboard", self.scoreboard)]

    def refusal(self, status: int) -> web.Response:
        if status == 403:  # the Akamai WAF's page, not JSON
            return web.Response(text=ACCESS_DENIED, status=403, content_type="text/html")
        if status == 400:
            return web.json_response(DATE_RANGE, status=400)
        return web.json_response({"code": status, "message": f"HTTP {status}"}, status=status)

    async def scoreboard(self, request: web.Request) -> web.StreamResponse:
        league = f"{request.match_info['sport']}/{request.match_info['league']}"
        sport = LEAGUES.get(league)
        if sport is None or sport not in self.worlds:
            return web.json_response({"code": 404, "message": "Not Found"}, status=404)
        agent = request.headers.get("User-Agent", "")
        if self.block_browsers and (not agent.strip() or _BROWSERS.search(agent)):
            return self.refusal(403)
        dates = request.query.get("dates")
        if dates is not None and not re.fullmatch(r"\d{4}(\d{2}(\d{2})?)?", dates):
            return self.refusal(400)  # YYYYMMDD-YYYYMMDD ranges are refused since 2026-09
        state = self.state(sport)
        games = [g for g in state.games if dates is None or _day(g).startswith(dates)]
        limit = request.query.get("limit")
        if limit is not None and limit.isdigit():
            games = games[: 25 if int(limit) >= 600 else int(limit)]
        body = self.render(state, sport, games)
        if self.transform is not None:
            body = self.transform(body)
        return web.json_response(body)

    def render(
        self, state: WorldState, sport: str, games: list[GameView] | None = None
    ) -> dict[str, Any]:
        """The scoreboard body for `games` (default: every game the World shows)."""
        quotes: dict[str, list[BookMarket]] = {}
        for market in state.markets:
            if market.book == self.odds_book:
                quotes.setdefault(market.event_id, []).append(market)
        slug = sport.rsplit("_", 1)[1]
        return {
            "leagues": [{"id": str(zlib.crc32(slug.encode()) % 100), "abbreviation": slug.upper(),
                         "slug": slug}],
            "events": [_event(game, quotes.get(game.event_id, []), self.odds_book)
                       for game in (state.games if games is None else games)],
        }  # fmt: skip


def _day(game: GameView) -> str:
    return (datetime.fromtimestamp(game.commence_time, UTC) + _EASTERN).strftime("%Y%m%d")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _status(game: GameView) -> dict[str, Any]:
    sport_rules = rules(game.sport)
    soccer = game.sport in _COUNTS_UP
    if game.status == "scheduled":
        clock, display, state, name, detail = 0.0, "0:00", "pre", "STATUS_SCHEDULED", "Scheduled"
    elif game.status == "final":
        clock, display, state = 0.0, "FT" if soccer else "0:00", "post"
        name, detail = ("STATUS_FULL_TIME", "FT") if soccer else ("STATUS_FINAL", "Final")
    else:
        state, clock = "in", game.clock
        if soccer:  # the clock counts up: seconds played
            clock = game.period * sport_rules.period_seconds - game.clock
            display = f"{max(1, math.ceil(clock / 60))}'"
        else:
            display = f"{int(game.clock) // 60}:{int(game.clock) % 60:02d}"
        half = game.period == sport_rules.periods // 2 and game.clock <= 0
        name = ("STATUS_HALFTIME" if half else "STATUS_END_PERIOD" if game.clock <= 0
                else "STATUS_IN_PROGRESS")  # fmt: skip
        if half and soccer:
            display = "HT"
        detail = f"{display} - period {game.period}"
    return {
        "clock": float(clock), "displayClock": display, "period": game.period,
        "type": {"id": {"pre": "1", "in": "2", "post": "3"}[state], "name": name, "state": state,
                 "completed": state == "post", "description": detail, "detail": detail,
                 "shortDetail": detail},
    }  # fmt: skip


def _competitor(game: GameView, side: str) -> dict[str, Any]:
    team = game.home_team if side == "home" else game.away_team
    score = game.home_score if side == "home" else game.away_score
    other = game.away_score if side == "home" else game.home_score
    team_id = str(zlib.crc32(team.encode()) % 1000)
    entry: dict[str, Any] = {
        "id": team_id, "homeAway": side, "order": 0 if side == "home" else 1,
        "score": str(score),
        "team": {"id": team_id, "abbreviation": "".join(w[0] for w in team.split()).upper(),
                 "displayName": team, "shortDisplayName": team.split()[-1]},
    }  # fmt: skip
    if game.status == "final":
        entry["winner"] = score > other
    return entry


def _event(game: GameView, quotes: list[BookMarket], book: str | None) -> dict[str, Any]:
    status = _status(game)
    competition: dict[str, Any] = {
        "id": event_id(game.event_id), "date": _iso(game.commence_time),
        "competitors": [_competitor(game, "home"), _competitor(game, "away")],
        "status": status,
    }  # fmt: skip
    if game.status == "scheduled" and quotes and book is not None:
        competition["odds"] = [_odds(game, quotes, book)]
    return {
        "id": event_id(game.event_id), "date": _iso(game.commence_time),
        "name": f"{game.away_team} at {game.home_team}",
        "shortName": f"{game.away_team.split()[-1]} @ {game.home_team.split()[-1]}",
        "status": status, "competitions": [competition],
    }  # fmt: skip


def _odds(game: GameView, quotes: list[BookMarket], book: str) -> dict[str, Any]:
    by_market = {quote.market: quote for quote in quotes}
    title = next(b.title for b in BOOKS if b.key == book)
    entry: dict[str, Any] = {"provider": {"id": "41", "name": title, "priority": 1}}
    h2h = by_market.get("h2h")
    if h2h is not None:
        lines = {o.name: american(o.price) for o in h2h.outcomes}
        home, away = lines[game.home_team], lines[game.away_team]
        entry["homeTeamOdds"] = {"favorite": home < away, "underdog": home > away,
                                 "moneyLine": home}  # fmt: skip
        entry["awayTeamOdds"] = {"favorite": away < home, "underdog": away > home,
                                 "moneyLine": away}  # fmt: skip
        moneyline = {"home": {"close": {"odds": _signed(home)}},
                     "away": {"close": {"odds": _signed(away)}}}  # fmt: skip
        if "Draw" in lines:
            entry["drawOdds"] = {"moneyLine": lines["Draw"]}
            moneyline["draw"] = {"close": {"odds": _signed(lines["Draw"])}}
        entry["moneyline"] = moneyline
    spreads = by_market.get("spreads")
    if spreads is not None:
        home_side, away_side = spreads.outcomes
        point = float(home_side.point or 0.0)
        entry["spread"] = point
        entry["details"] = f"{game.home_team.split()[-1]} {point:+g}"
        entry["pointSpread"] = {
            "home": {"close": {"line": _signed(point), "odds": _signed(american(home_side.price))}},
            "away": {"close": {"line": _signed(float(away_side.point or 0.0)),
                               "odds": _signed(american(away_side.price))}},
        }  # fmt: skip
    totals = by_market.get("totals")
    if totals is not None:
        over, under = totals.outcomes
        entry["overUnder"] = float(over.point or 0.0)
        entry["total"] = {
            "over": {"close": {"line": f"o{over.point:g}", "odds": _signed(american(over.price))}},
            "under": {"close": {"line": f"u{under.point:g}",
                                "odds": _signed(american(under.price))}},
        }  # fmt: skip
    return entry
