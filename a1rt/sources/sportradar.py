"""Sportradar: NBA v8, NFL v7 and Soccer v4 schedules and live game states (providers.md §2).

A poll asks for the sport's schedule, then only for what is live: NBA today's schedule (by the
US date) plus one game summary per game in progress; NFL the season's schedule plus one
boxscore per game in progress; soccer today's daily summaries, filtered to the Premier League,
plus the (fresher) live summaries when one of its games is in progress. Trial keys allow about
one request a second, so a quiet day costs one request per poll.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any, Final, Literal

import msgspec

from ..messages import GameState, GameStatus, SourceMessage, utcnow
from ..metrics import Metrics
from ._payload import Reader, data_of, iso_time, nonempty, optional_time
from .client import JsonRequest, SourceClient
from .provider import SPORTS
from .records import parse_records

SOURCE: Final = "sportradar"
EPL_COMPETITION: Final = "sr:competition:17"
AccessLevel = Literal["trial", "production"]

# The US leagues' daily schedules follow the US date; no NBA or NFL game runs at 05:00 UTC.
US_SCHEDULE_DATE: Final = timezone(timedelta(hours=-5))
SOCCER_PAGE: Final = 200  # summaries asked for per page of a daily schedule
SOCCER_MAX_PAGES: Final = 5
NFL_WINDOW: Final = (timedelta(days=1), timedelta(days=8))  # games shown: a day back, 8 ahead

# (periods, seconds per period) of regulation
REGULATION: Final[dict[str, tuple[int, float]]] = {
    "basketball_nba": (4, 720.0), "americanfootball_nfl": (4, 900.0), "soccer_epl": (2, 2700.0),
}  # fmt: skip
_STATUS: Final[dict[str, GameStatus]] = {
    # NBA v8 / NFL v7 game statuses
    "scheduled": "scheduled", "created": "scheduled", "time-tbd": "scheduled",
    "if-necessary": "scheduled", "delayed": "scheduled", "flex-schedule": "scheduled",
    "inprogress": "in_progress", "halftime": "in_progress", "complete": "final",
    "closed": "final", "postponed": "postponed", "cancelled": "cancelled",
    "unnecessary": "cancelled",
    # Soccer v4 sport_event_status.status
    "not_started": "scheduled", "match_about_to_start": "scheduled", "start_delayed": "scheduled",
    "live": "in_progress", "interrupted": "in_progress", "suspended": "in_progress",
    "ended": "final", "abandoned": "cancelled",
}  # fmt: skip
# Soccer v4 match_status -> period (extra time continues the count)
_SOCCER_PERIODS: Final[dict[str, int]] = {
    "1st_half": 1, "halftime": 1, "2nd_half": 2, "awaiting_extra_time": 2, "overtime": 3,
    "1st_extra": 3, "extra_time_halftime": 3, "2nd_extra": 4, "awaiting_penalties": 4,
    "penalties": 4,
}  # fmt: skip
Clock = Callable[[], datetime]


class Sportradar:
    """The Sportradar provider; `access_level` ("trial" or "production") goes into every path."""

    name = SOURCE
    sports = SPORTS

    def __init__(
        self,
        access_level: AccessLevel = "trial",
        *,
        metrics: Metrics | None = None,
        clock: Clock = utcnow,
        language: str = "en",
    ) -> None:
        if access_level not in ("trial", "production"):
            raise ValueError(f"access_level must be 'trial' or 'production', not {access_level!r}")
        self.access_level = access_level
        self.language = language
        self._metrics = metrics
        self._clock = clock

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        """Every game of `sport` on today's schedule, with live ones from their summaries."""
        feeds = {"basketball_nba": self._nba, "americanfootball_nfl": self._nfl,
                 "soccer_epl": self._soccer}  # fmt: skip
        if sport not in feeds:
            raise ValueError(f"sportradar does not cover {sport!r}")
        return list(await feeds[sport](client))

    def _root(self, sport: str, version: str) -> str:
        return f"/{sport}/{self.access_level}/{version}/{self.language}"

    async def _nba(self, client: SourceClient) -> list[GameState]:
        root = self._root("nba", "v8")
        day = self._clock().astimezone(US_SCHEDULE_DATE)
        response = await client.get_json(f"{root}/games/{day:%Y/%m/%d}/schedule.json", expect=dict)
        games, _ = parse_schedule(
            response.data, "basketball_nba", received_at=utcnow(), metrics=self._metrics
        )
        return await self._with_live(client, games, lambda id_: f"{root}/games/{id_}/summary.json")

    async def _nfl(self, client: SourceClient) -> list[GameState]:
        root = f"/nfl/official/{self.access_level}/v7/{self.language}"
        now = self._clock()
        year = now.year if now.month >= 3 else now.year - 1  # a season runs September-February
        kinds = ("REG", "PST") if now.month <= 2 else ("REG",)
        requests = {
            kind: JsonRequest(f"{root}/games/{year}/{kind}/schedule.json", expect=dict)
            for kind in kinds
        }
        games: list[GameState] = []
        for answer in (await client.get_json_many(requests)).values():
            parsed, _ = parse_schedule(
                data_of(answer), "americanfootball_nfl", received_at=utcnow(), metrics=self._metrics
            )
            games.extend(parsed)
        back, ahead = NFL_WINDOW
        games = [
            game
            for game in games
            if game.status == "in_progress" or now - back <= game.commence_time <= now + ahead
        ]
        return await self._with_live(client, games, lambda id_: f"{root}/games/{id_}/boxscore.json")

    async def _with_live(
        self, client: SourceClient, games: list[GameState], path: Callable[[str], str]
    ) -> list[GameState]:
        """Replace each game in progress by what its summary says (one request per game)."""
        live = {game.event_id: game for game in games if game.status == "in_progress"}
        if not live:
            return games
        requests = {
            event_id: JsonRequest(path(event_id.removeprefix(f"{SOURCE}:")), expect=dict)
            for event_id in live
        }
        answers = await client.get_json_many(requests)
        updated: dict[str, GameState] = {}
        for event_id, answer in answers.items():
            read = partial(parse_game_summary, sport=live[event_id].sport, received_at=utcnow())
            parsed, _ = parse_records(SOURCE, [data_of(answer)], read, metrics=self._metrics)
            if parsed:
                updated[event_id] = overlay(live[event_id], parsed[0])
        return [updated.get(game.event_id, game) for game in games]

    async def _soccer(self, client: SourceClient) -> list[GameState]:
        root = self._root("soccer", "v4")
        day = self._clock().astimezone(UTC)
        games: dict[str, GameState] = {}
        seen: set[str] = set()
        for page in range(SOCCER_MAX_PAGES):  # every competition's games, a page at a time
            params = {"start": page * SOCCER_PAGE, "limit": SOCCER_PAGE}
            response = await client.get_json(
                f"{root}/schedules/{day:%Y-%m-%d}/summaries.json", params, expect=dict
            )
            parsed, _ = parse_soccer_summaries(
                response.data, received_at=utcnow(), metrics=self._metrics
            )
            games.update((game.event_id, game) for game in parsed)
            count, ids = _page_of(response.data)
            if count < SOCCER_PAGE or ids <= seen:  # the last page, or paging was ignored
                break
            seen |= ids
        if any(game.status == "in_progress" for game in games.values()):
            response = await client.get_json(f"{root}/schedules/live/summaries.json", expect=dict)
            live, _ = parse_soccer_summaries(
                response.data, received_at=utcnow(), metrics=self._metrics
            )
            games.update((game.event_id, game) for game in live)
        return list(games.values())


# --- payloads -> messages ----------------------------------------------------------------------


def parse_schedule(
    payload: Any, sport: str, *, received_at: datetime, metrics: Metrics | None = None
) -> tuple[list[GameState], int]:
    """The games of an NBA daily schedule (`games`) or an NFL season or weekly schedule
    (`weeks[].games`, `week.games`); returns them and how many records were skipped."""
    payload = _fields(payload)
    source_time = optional_time(payload.get("generated_at"))
    reader = Reader(SOURCE, metrics)
    week = payload.get("week")
    if "weeks" in payload:
        weeks = reader.each(payload["weeks"], _week_games)
        records: Any = [game for games in weeks for game in games]
    elif isinstance(week, dict) and "games" in week:
        records = week["games"]
    else:
        records = payload.get("games")
    read = partial(_schedule_game, sport=sport, received_at=received_at, source_time=source_time)
    games = reader.each(records, read)
    return games, reader.skipped


def parse_game_summary(payload: Any, *, sport: str, received_at: datetime) -> GameState:
    """One game from an NBA game summary or an NFL boxscore (teams under `summary` in NFL v7).
    Raises one of RECORD_ERRORS when the payload is not one."""
    teams = payload.get("summary") or payload
    home, away = teams["home"], teams["away"]
    status = _status(payload["status"])
    period = int(payload.get("quarter") or payload.get("period") or 0)
    clock = payload.get("clock")
    if clock is not None and not isinstance(clock, str):
        raise TypeError(f"clock is {type(clock).__name__}, not a string")
    return GameState(
        event_id=f"{SOURCE}:{nonempty(payload['id'])}",
        sport=sport,
        home_team=team_name(home),
        away_team=team_name(away),
        commence_time=_utc(payload["scheduled"]),
        status=status,
        source=SOURCE,
        received_at=received_at,
        source_time=optional_time(payload.get("generated_at")),
        home_score=_points(home.get("points"), payload.get("home_points")),
        away_score=_points(away.get("points"), payload.get("away_points")),
        period=period,
        clock=clock,
        seconds_remaining=us_seconds_remaining(
            sport, status, str(payload["status"]).lower(), period, clock
        ),
    )


def parse_soccer_summaries(
    payload: Any,
    *,
    received_at: datetime,
    competition: str = EPL_COMPETITION,
    metrics: Metrics | None = None,
) -> tuple[list[GameState], int]:
    """The `competition`'s games in a Soccer v4 summaries payload (daily or live); returns them
    and how many records were skipped. Other competitions' games are left out, not skipped."""
    payload = _fields(payload)
    read = partial(
        _soccer_game,
        received_at=received_at,
        source_time=optional_time(payload.get("generated_at")),
        competition=competition,
    )
    games, skipped = parse_records(SOURCE, payload.get("summaries"), read, metrics=metrics)
    return [game for game in games if game is not None], skipped


def overlay(scheduled: GameState, live: GameState) -> GameState:
    """A schedule's game with the score, clock and status of its live summary (the schedule's
    full team names are kept: summaries may give only the nickname)."""
    return msgspec.structs.replace(
        scheduled,
        status=live.status,
        home_score=live.home_score,
        away_score=live.away_score,
        period=live.period,
        clock=live.clock,
        seconds_remaining=live.seconds_remaining,
        received_at=live.received_at,
        source_time=live.source_time or scheduled.source_time,
    )


def team_name(team: Mapping[str, Any]) -> str:
    """A team's full name: `market` + `name` ("Los Angeles" + "Lakers"), or `name` when it is
    already full ("Boston Celtics") or alone (soccer)."""
    name = nonempty(team["name"])
    market = team.get("market")
    if isinstance(market, str) and market and not name.startswith(market):
        return f"{market} {name}"
    return name


def us_seconds_remaining(
    sport: str, status: GameStatus, raw_status: str, period: int, clock: str | None
) -> float | None:
    """Regulation seconds left in an NBA or NFL game (0 in overtime and at the end)."""
    periods, length = REGULATION[sport]
    if status == "final":
        return 0.0
    if status != "in_progress":
        return None
    if raw_status == "halftime":
        return periods // 2 * length
    if clock is None or period < 1:
        return None
    if period > periods:
        return 0.0
    return (periods - period) * length + min(clock_seconds(clock), length)


def clock_seconds(clock: str) -> float:
    """Seconds of an "M:SS", "MM:SS" or "M:SS.s" clock; ValueError when it is not one."""
    minutes, _, seconds = clock.strip().partition(":")
    if not seconds:
        raise ValueError(f"not a clock: {clock!r}")
    value = int(minutes) * 60 + float(seconds)
    if value < 0:
        raise ValueError(f"negative clock: {clock!r}")
    return value


def _week_games(week: Any) -> list[Any]:
    games = week["games"]
    if not isinstance(games, list):
        raise TypeError(f"week games is {type(games).__name__}, not a list")
    return games


def _schedule_game(
    record: Any, *, sport: str, received_at: datetime, source_time: datetime | None
) -> GameState:
    status = _status(record["status"])
    scoring = record.get("scoring") or {}
    home_score = _points(record.get("home_points"), scoring.get("home_points"))
    away_score = _points(record.get("away_points"), scoring.get("away_points"))
    return GameState(
        event_id=f"{SOURCE}:{nonempty(record['id'])}",
        sport=sport,
        home_team=team_name(record["home"]),
        away_team=team_name(record["away"]),
        commence_time=_utc(record["scheduled"]),
        status=status,
        source=SOURCE,
        received_at=received_at,
        source_time=source_time,
        home_score=home_score,
        away_score=away_score,
        seconds_remaining=0.0 if status == "final" else None,
    )


def _soccer_game(
    record: Any,
    *,
    received_at: datetime,
    source_time: datetime | None,
    competition: str,
) -> GameState | None:
    event = record["sport_event"]
    context = event.get("sport_event_context") or {}
    if (context.get("competition") or {}).get("id") != competition:
        return None
    sides = {side["qualifier"]: side for side in event["competitors"]}
    report = record.get("sport_event_status") or {}
    status = _status(report.get("status", "not_started"))
    match_status = report.get("match_status") or ""
    played = (report.get("clock") or {}).get("played")
    period = _SOCCER_PERIODS.get(match_status, 0) if status == "in_progress" else 0
    return GameState(
        event_id=f"{SOURCE}:{nonempty(event['id'])}",
        sport="soccer_epl",
        home_team=team_name(sides["home"]),
        away_team=team_name(sides["away"]),
        commence_time=_utc(event["start_time"]),
        status=status,
        source=SOURCE,
        received_at=received_at,
        source_time=source_time,
        home_score=_points(report.get("home_score")),
        away_score=_points(report.get("away_score")),
        period=period,
        clock=played if isinstance(played, str) else None,
        seconds_remaining=_soccer_remaining(status, match_status, played),
    )


def _soccer_remaining(status: GameStatus, match_status: str, played: object) -> float | None:
    periods, length = REGULATION["soccer_epl"]
    if status == "final":
        return 0.0
    if status != "in_progress":
        return None
    if match_status == "halftime":
        return length
    if _SOCCER_PERIODS.get(match_status, 0) > periods:
        return 0.0
    if not isinstance(played, str):
        return None
    return max(0.0, periods * length - clock_seconds(played))


def _status(value: object) -> GameStatus:
    status = _STATUS.get(nonempty(value).lower())
    if status is None:
        raise ValueError(f"unknown status {value!r}")
    return status


def _points(*values: object) -> int:
    """The first score given (JSON numbers, or digit strings), 0 when none is."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(f"score is {type(value).__name__}")
        return int(value)
    return 0


def _utc(value: object) -> datetime:
    return iso_time(nonempty(value))


def _fields(payload: Any) -> dict[str, Any]:
    """A payload's top-level object; {} for any other value (then one "NotAList" skip)."""
    return payload if isinstance(payload, dict) else {}


def _page_of(payload: Any) -> tuple[int, set[str]]:
    """How many summaries a page holds and their event ids."""
    items = _fields(payload).get("summaries")
    items = items if isinstance(items, list) else []
    events = (item.get("sport_event") for item in items if isinstance(item, dict))
    return len(items), {str(event.get("id")) for event in events if isinstance(event, dict)}
