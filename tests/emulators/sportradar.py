"""Sportradar emulator: NBA v8, NFL v7 and Soccer v4 feeds rendered from the World (§2).

Accepts the key as the `x-api-key` header or `?api_key=`; a wrong or missing key, or a path for
another access level than the key's, gets the gateway's `403 {"message": "Forbidden"}`. With
`qps_limit` set, a request sooner than 1/qps_limit seconds after the previous one gets 429.
`corrupt` breaks that many game records of every schedule (for record-level tolerance tests).
Ids are stable per World game: `sr_id(event_id)` gives the one a feed shows.
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from a1rt.models.simulation.views import GameView
from tests.emulators.base import Emulator, alias, iso

KEY = "sportradar-test-key-0123456789abcdef0123"
EPL = {"id": "sr:competition:17", "name": "Premier League", "gender": "men"}
LALIGA = {"id": "sr:competition:8", "name": "LaLiga", "gender": "men"}
US_DATE = timezone(timedelta(hours=-5))
HALF = {"basketball_nba": 2, "americanfootball_nfl": 2, "soccer_epl": 1}
MESSAGES = {403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity",
            429: "Too Many Requests"}  # fmt: skip
TWO_WORD_NAMES = ("Trail Blazers",)
Breaker = Callable[[dict[str, Any]], Any]
US_BREAKERS: tuple[Breaker, ...] = (
    lambda r: {k: v for k, v in r.items() if k != "home"},
    lambda r: {**r, "scheduled": "not a date"},
    lambda r: {**r, "status": ["closed"]},
    lambda r: "not a game",
)
SOCCER_BREAKERS: tuple[Breaker, ...] = (
    lambda r: {**r, "sport_event": {**r["sport_event"], "start_time": "soon"}},
    lambda r: {k: v for k, v in r.items() if k != "sport_event"},
    lambda r: {**r, "sport_event": {**r["sport_event"], "competitors": []}},
    lambda r: "not a summary",
)


class SportradarEmulator(Emulator):
    """Serves `/{nba|nfl/official|soccer}/{level}/{version}/{lang}/...json` like Sportradar."""

    name = "sportradar"

    def __init__(
        self,
        sports: tuple[str, ...] = ("basketball_nba",),
        *,
        key: str = KEY,
        access_level: str = "trial",
        qps_limit: float | None = None,
        **world: Any,
    ) -> None:
        super().__init__(sports, **world)
        self.key = key
        self.access_level = access_level
        self.qps_limit = qps_limit
        self.corrupt = 0
        self.last_request: float | None = None

    # --- Emulator hooks ------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        nba, nfl = "/nba/{level}/v8/{lang}", "/nfl/official/{level}/v7/{lang}"
        soccer = "/soccer/{level}/v4/{lang}"
        return [
            web.get(nba + "/games/{year}/{month}/{day}/schedule.json", self._nba_schedule),
            web.get(nba + "/games/{game_id}/summary.json", self._nba_summary),
            web.get(nfl + "/games/{year}/{kind}/schedule.json", self._nfl_schedule),
            web.get(nfl + "/games/{game_id}/boxscore.json", self._nfl_boxscore),
            web.get(soccer + "/schedules/live/summaries.json", self._soccer_live),
            web.get(soccer + "/schedules/{date}/summaries.json", self._soccer_daily),
        ]

    def refusal(self, status: int) -> web.Response:
        """The gateway's `{"message": ...}`; it answers a bad key with 403, never 401."""
        status = 403 if status == 401 else status
        return web.json_response({"message": MESSAGES.get(status, "Error")}, status=status)

    def authorised(self, request: web.Request) -> bool:
        given = request.headers.get("x-api-key") or request.query.get("api_key")
        level = request.match_info.get("level", self.access_level)  # None: an unknown path
        return given == self.key and level == self.access_level

    # --- ids and clocks ------------------------------------------------------------------

    def sr_id(self, event_id: str) -> str:
        """The id the feeds show for a World game: a UUID (NBA, NFL) or an sr:sport_event."""
        if event_id.startswith("sim-soccer"):
            return f"sr:sport_event:{zlib.crc32(event_id.encode()) % 90_000_000 + 10_000_000}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sportradar/{event_id}"))

    def moment(self) -> float:
        return time.time() if self.now is None else self.now

    def _game(self, sport: str, sr_id: str) -> GameView:
        for game in self.state(sport).games:
            if self.sr_id(game.event_id) == sr_id:
                return game
        raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")

    def _limit(self) -> web.Response | None:
        now = time.monotonic()
        last, self.last_request = self.last_request, now
        if self.qps_limit is not None and last is not None and now - last < 1 / self.qps_limit:
            return web.json_response({"message": "Too Many Requests"}, status=429)
        return None

    # --- NBA v8 --------------------------------------------------------------------------

    async def _nba_schedule(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        info = request.match_info
        day = f"{info['year']}-{info['month']}-{info['day']}"
        games = [
            self._us_game(g, "basketball_nba")
            for g in self.state("basketball_nba").games
            if _date(g.commence_time, US_DATE) == day
        ]
        league = {"id": "4353138d-4c22-4396-95d8-5f587d2df25c", "name": "NBA", "alias": "NBA"}
        return web.json_response({"date": day, "league": league, "games": self._spoil(games)})

    async def _nba_summary(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        game = self._game("basketball_nba", request.match_info["game_id"])
        body = self._us_game(game, "basketball_nba", split_names=True)
        body.pop("home_points", None)
        body.pop("away_points", None)
        body.update(self._live_clock(game, 1))
        body["home"]["points"], body["away"]["points"] = game.home_score, game.away_score
        body["home"]["scoring"], body["away"]["scoring"] = [], []
        return web.json_response(body)

    # --- NFL v7 --------------------------------------------------------------------------

    async def _nfl_schedule(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        year, kind = int(request.match_info["year"]), request.match_info["kind"]
        weeks: dict[int, list[dict[str, Any]]] = {}
        for game in self.state("americanfootball_nfl").games:
            if kind != "REG" or _season_year(game.commence_time) != year:
                continue
            record = self._us_game(game, "americanfootball_nfl")
            home, away = record.pop("home_points", None), record.pop("away_points", None)
            if home is not None:
                record["scoring"] = {"home_points": home, "away_points": away, "periods": []}
            week = datetime.fromtimestamp(game.commence_time, UTC).isocalendar().week
            weeks.setdefault(week, []).append(record)
        body = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"nfl/{year}/{kind}")),
            "year": year,
            "type": kind,
            "name": kind,
            "weeks": [
                {"id": f"week-{n}", "sequence": i + 1, "title": str(i + 1),
                 "games": self._spoil(games)}
                for i, (n, games) in enumerate(sorted(weeks.items()))
            ],
        }  # fmt: skip
        return web.json_response(body)

    async def _nfl_boxscore(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        game = self._game("americanfootball_nfl", request.match_info["game_id"])
        body = self._us_game(game, "americanfootball_nfl", split_names=True)
        body.pop("home_points", None)
        body.pop("away_points", None)
        home, away = body.pop("home"), body.pop("away")
        home["points"], away["points"] = game.home_score, game.away_score
        body["summary"] = {"season": {"year": _season_year(game.commence_time)},
                           "home": home, "away": away}  # fmt: skip
        body.update(self._live_clock(game, 2))
        return web.json_response(body)

    def _us_game(self, game: GameView, sport: str, *, split_names: bool = False) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.sr_id(game.event_id),
            "status": _us_status(game, sport),
            "coverage": "full",
            "scheduled": iso(game.commence_time),
            "sr_id": f"sr:match:{zlib.crc32(game.event_id.encode())}",
            "home": _us_team(game.home_team, split_names),
            "away": _us_team(game.away_team, split_names),
        }
        if game.status != "scheduled":
            record["home_points"], record["away_points"] = game.home_score, game.away_score
        return record

    def _live_clock(self, game: GameView, width: int) -> dict[str, Any]:
        """`quarter` and the clock left in it, "M:SS" (NBA) or "MM:SS" (NFL)."""
        if game.status == "scheduled":
            return {}
        minutes, seconds = divmod(int(max(game.clock, 0.0)), 60)
        return {"quarter": game.period, "clock": f"{minutes:0{width}d}:{seconds:02d}"}

    def _spoil(self, records: list[dict[str, Any]], soccer: bool = False) -> list[Any]:
        """The first `corrupt` records, broken in different ways."""
        breakers = SOCCER_BREAKERS if soccer else US_BREAKERS
        return [
            breakers[i % len(breakers)](record) if i < self.corrupt else record
            for i, record in enumerate(records)
        ]

    # --- Soccer v4 -----------------------------------------------------------------------

    async def _soccer_daily(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        day = request.match_info["date"]
        summaries = [
            self._summary(g)
            for g in self.state("soccer_epl").games
            if _date(g.commence_time, UTC) == day
        ]
        summaries.append(_other_competition(day))
        start = int(request.query.get("start", 0))
        limit = int(request.query.get("limit", 200))
        return web.json_response(self._summaries(summaries[start : start + limit]))

    async def _soccer_live(self, request: web.Request) -> web.Response:
        if (limited := self._limit()) is not None:
            return limited
        live = [g for g in self.state("soccer_epl").games if g.status == "in_progress"]
        return web.json_response(self._summaries([self._summary(g) for g in live]))

    def _summaries(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        summaries = self._spoil(summaries, soccer=True)
        return {"generated_at": iso(self.moment()), "summaries": summaries}

    def _summary(self, game: GameView) -> dict[str, Any]:
        event = {
            "id": self.sr_id(game.event_id),
            "start_time": iso(game.commence_time),
            "start_time_confirmed": True,
            "sport_event_context": {
                "sport": {"id": "sr:sport:1", "name": "Soccer"},
                "category": {"id": "sr:category:1", "name": "England", "country_code": "ENG"},
                "competition": EPL,
            },
            "competitors": [
                _competitor(game.home_team, "home"),
                _competitor(game.away_team, "away"),
            ],
        }
        return {"sport_event": event, "sport_event_status": _soccer_status(game)}


def _us_status(game: GameView, sport: str) -> str:
    if game.status == "scheduled":
        return "scheduled"
    if game.status == "final":
        return "closed"
    return "halftime" if game.period == HALF[sport] and game.clock <= 0.0 else "inprogress"


def _us_team(full: str, split: bool) -> dict[str, Any]:
    team = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"team/{full}")), "alias": alias(full)}
    if not split:
        return {"name": full, **team}
    nickname = next((n for n in TWO_WORD_NAMES if full.endswith(n)), full.rsplit(" ", 1)[-1])
    return {"name": nickname, "market": full.removesuffix(nickname).strip(), **team}


def _competitor(name: str, qualifier: str) -> dict[str, Any]:
    return {"id": f"sr:competitor:{zlib.crc32(name.encode()) % 100_000}", "name": name,
            "abbreviation": alias(name), "qualifier": qualifier}  # fmt: skip


def _soccer_status(game: GameView) -> dict[str, Any]:
    if game.status == "scheduled":
        return {"status": "not_started", "match_status": "not_started"}
    score = {"home_score": game.home_score, "away_score": game.away_score}
    if game.status == "final":
        return {"status": "closed", "match_status": "ended", **score}
    half = game.period == 1 and game.clock <= 0.0
    played = (game.period - 1) * 2700.0 + (2700.0 - game.clock)
    minutes, seconds = divmod(int(played), 60)
    return {
        "status": "live",
        "match_status": "halftime" if half else ("1st_half", "2nd_half")[game.period - 1],
        "clock": {"played": f"{minutes}:{seconds:02d}"},
        **score,
    }


def _other_competition(day: str) -> dict[str, Any]:
    """A LaLiga match the provider must leave out."""
    event = {
        "id": "sr:sport_event:50000001",
        "start_time": f"{day}T20:00:00+00:00",
        "sport_event_context": {"competition": LALIGA},
        "competitors": [_competitor("Real Madrid", "home"), _competitor("Barcelona", "away")],
    }
    return {"sport_event": event, "sport_event_status": {"status": "not_started"}}


def _date(moment: float, zone: timezone) -> str:
    return datetime.fromtimestamp(int(moment), UTC).astimezone(zone).date().isoformat()


def _season_year(moment: float) -> int:
    day = datetime.fromtimestamp(moment, UTC)
    return day.year if day.month >= 3 else day.year - 1
