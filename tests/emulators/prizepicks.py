"""PrizePicks emulator: `/leagues` and `/projections` (JSON:API) rendered from the World (§3).

The World's props are one book's prices per player and stat; PrizePicks shows one line per
player and stat (the books' most common line) and no prices. A refusal is the DataDome wall:
403 (or 200, as one client saw) with `{"url": "https://geo.captcha-delivery.com/captcha/..."}`;
429 says "Too Many Requests". `corrupt` breaks that many projections of every page.
"""

from __future__ import annotations

import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from a1rt.models.simulation.views import GameView, PropQuote
from tests.emulators.base import Emulator, alias, iso

DATADOME = {
    "url": "https://geo.captcha-delivery.com/captcha/?initialCid=AHrlqAAAAAMA1QGvUmJwyYoAwpyjNg%3D"
    "%3D&hash=789361B674144528D0B7EE76B35826&cid=6QAEcL8coBYTi9tYLmjCdyKmNNyHz1xwM2tMHHGVd&t=fe"
    "&referer=https%3A%2F%2Fapi.prizepicks.com%2Fprojections&s=17434"
}
# Board names and ids as /leagues shows them (ids are not stable across clients' reports).
LEAGUES = (
    ("7", "NBA", "basketball_nba"),
    ("9", "NFL", "americanfootball_nfl"),
    ("82", "SOCCER", "soccer_epl"),
    ("2", "MLB", None),
    ("192", "NBA1Q", None),
    ("3", "WNBA", None),
)
STAT_TYPES = {"points": "Points", "rebounds": "Rebounds", "assists": "Assists"}
PAGE = 250
Breaker = Callable[[dict[str, Any]], Any]
BREAKERS: tuple[Breaker, ...] = (
    lambda r: {**r, "attributes": {**r["attributes"], "line_score": None}},
    lambda r: {**r, "relationships": {**r["relationships"], "new_player": {"data": {
        "type": "new_player", "id": "no-such-player"}}}},
    lambda r: {k: v for k, v in r.items() if k != "attributes"},
    lambda r: {**r, "attributes": {**r["attributes"], "stat_type": 19}},
)  # fmt: skip


class PrizePicksEmulator(Emulator):
    """Serves `/leagues` and `/projections?league_id=&per_page=&page=` like api.prizepicks.com."""

    name = "prizepicks"

    def __init__(self, sports: tuple[str, ...] = ("basketball_nba",), **world: Any) -> None:
        super().__init__(sports, **world)
        self.corrupt = 0
        self.inactive: set[str] = set()  # league names shown with active: false

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/leagues", self._leagues), web.get("/projections", self._projections)]

    def refusal(self, status: int) -> web.Response:
        """DataDome's captcha body for 403 (and 200); a JSON:API error for anything else."""
        if status in (200, 403):
            return web.json_response(DATADOME, status=status)
        title = {401: "Unauthorized", 422: "Unprocessable Entity", 429: "Too Many Requests"}
        error = {"status": str(status), "title": title.get(status, "Error")}
        return web.json_response({"errors": [error]}, status=status)

    # --- ids -----------------------------------------------------------------------------

    def game_id(self, event_id: str) -> str:
        """The `game` relationship id a World game gets."""
        return str(zlib.crc32(event_id.encode()) % 900_000 + 100_000)

    def player_id(self, player: str) -> str:
        return str(zlib.crc32(player.encode()) % 90_000 + 10_000)

    def board(self, sport: str) -> dict[tuple[str, str, str], PropQuote]:
        """One quote per (World event, player, stat): the books' most common line."""
        quotes: dict[tuple[str, str, str], list[PropQuote]] = defaultdict(list)
        for quote in self.state(sport).props:
            quotes[(quote.event_id, quote.player, quote.stat)].append(quote)
        board = {}
        for key, group in quotes.items():
            line = Counter(q.line for q in group).most_common(1)[0][0]
            board[key] = next(q for q in group if q.line == line)
        return board

    # --- handlers ------------------------------------------------------------------------

    async def _leagues(self, request: web.Request) -> web.Response:
        data = [
            {"type": "league", "id": league_id, "attributes": {
                "name": name, "active": name not in self.inactive,
                "projections_count": len(self.board(sport)) if sport in self.worlds else 0}}
            for league_id, name, sport in LEAGUES
        ]  # fmt: skip
        return web.json_response({"data": data, "links": {}, "meta": {}})

    async def _projections(self, request: web.Request) -> web.Response:
        league_id = request.query.get("league_id", "")
        name, sport = next(((n, s) for i, n, s in LEAGUES if i == league_id), ("", None))
        if sport is None or sport not in self.worlds:
            return web.json_response({"data": [], "included": [], "links": {}, "meta": {}})
        per_page = int(request.query.get("per_page", PAGE))
        page = int(request.query.get("page", 1))
        games = {game.event_id: game for game in self.state(sport).games}
        quotes = sorted(self.board(sport).items())
        pages = max(1, -(-len(quotes) // per_page))
        shown = quotes[(page - 1) * per_page : page * per_page]
        data = [self._projection(n, quote, games[quote.event_id], league_id)
                for n, (_, quote) in enumerate(shown, start=(page - 1) * per_page)]  # fmt: skip
        data = [BREAKERS[i % len(BREAKERS)](r) if i < self.corrupt else r
                for i, r in enumerate(data)]  # fmt: skip
        players = {quote.player: quote for _, quote in shown}
        included = [self._player(quote, league_id) for quote in players.values()]
        included.append({"type": "league", "id": league_id, "attributes": {"name": name}})
        meta = {"current_page": page, "total_pages": pages}
        return web.json_response({"data": data, "included": included, "links": {}, "meta": meta})

    def _projection(
        self, number: int, quote: PropQuote, game: GameView, league_id: str
    ) -> dict[str, Any]:
        attributes = {
            "adjusted_odds": None,
            "board_time": iso(game.commence_time - 86400),
            "description": f"{alias(game.away_team)}/{alias(game.home_team)}",
            "flash_sale_line_score": None,
            "game_id": str(uuid.uuid5(uuid.NAMESPACE_URL, game.event_id)),
            "is_promo": False,
            "line_score": quote.line,
            "odds_type": "standard",
            "projection_type": "Single Stat",
            "rank": number,
            "refundable": True,
            "start_time": iso(game.commence_time),
            "stat_type": STAT_TYPES.get(quote.stat, quote.stat.title()),
            "status": "pre_game" if game.status == "scheduled" else "in_progress",
            "today": True,
            "updated_at": iso(quote.last_update),
        }
        relationships = {
            "new_player": {"data": {"type": "new_player", "id": self.player_id(quote.player)}},
            "league": {"data": {"type": "league", "id": league_id}},
            "stat_type": {"data": {"type": "stat_type", "id": str(len(quote.stat))}},
            "game": {"data": {"type": "game", "id": self.game_id(quote.event_id)}},
            "score": {"data": None},
        }
        return {"type": "projection", "id": str(1_800_000 + number),
                "attributes": attributes, "relationships": relationships}  # fmt: skip

    def _player(self, quote: PropQuote, league_id: str) -> dict[str, Any]:
        market, _, nickname = quote.team.rpartition(" ")
        attributes = {
            "combo": False, "display_name": quote.player, "name": quote.player,
            "league": "NBA", "league_id": int(league_id), "market": market,
            "team": alias(quote.team), "team_name": nickname, "position": "G",
        }  # fmt: skip
        return {"type": "new_player", "id": self.player_id(quote.player), "attributes": attributes}
