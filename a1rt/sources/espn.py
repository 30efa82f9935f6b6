"""ESPN's site API scoreboard (reference/providers.md §4, unofficial): games, and their odds.

One poll reads `/apis/site/v2/sports/{league}/scoreboard` for the sport. Each event gives a
GameState (scores are strings; `status.type.state` is pre, in or post; `status.clock` is the
seconds left in the period, or for soccer the seconds played), and each entry of the optional
`odds` list an OddsUpdate per market it prices, with its american quotes made decimal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ..betting import american_to_decimal
from ..messages import (
    GameState,
    GameStatus,
    Market,
    OddsUpdate,
    OutcomePrice,
    SourceMessage,
    utcnow,
)
from ..metrics import Metrics
from ._payload import Reader, iso_time, number, text
from .client import SourceClient
from .provider import SPORTS

SOURCE: Final = "espn"
LEAGUES: Final[dict[str, str]] = {
    "basketball_nba": "basketball/nba",
    "americanfootball_nfl": "football/nfl",
    "soccer_epl": "soccer/eng.1",
}
# periods of regulation and their length in seconds; soccer's clock counts up
_PERIODS: Final[dict[str, tuple[int, float]]] = {
    "basketball_nba": (4, 720.0),
    "americanfootball_nfl": (4, 900.0),
    "soccer_epl": (2, 2700.0),
}
_COUNTS_UP: Final = frozenset({"soccer_epl"})
_STATES: Final[dict[str, GameStatus]] = {"pre": "scheduled", "in": "in_progress", "post": "final"}
_MINUTE = re.compile(r"\s*(\d+)'")
_MMSS = re.compile(r"\s*(\d+):(\d{1,2}(?:\.\d+)?)\s*$")
DEFAULT_BOOK: Final = "espn_bet"


class Espn:
    """ESPN's scoreboard as a Provider (no key; the client's identifying User-Agent passes the
    WAF that refuses browser-like ones)."""

    name = SOURCE

    def __init__(
        self,
        *,
        limit: int = 300,
        sports: tuple[str, ...] = SPORTS,
        metrics: Metrics | None = None,
    ) -> None:
        self.limit = limit  # 100..500 is complete; 600 and more is cut to 25 events [§4]
        self.sports = sports
        self.metrics = metrics

    @staticmethod
    def path(sport: str) -> str:
        """The scoreboard path of an a1rt sport key; ValueError for a sport not covered."""
        if sport not in LEAGUES:
            raise ValueError(f"espn: no scoreboard for sport {sport!r} ({', '.join(LEAGUES)})")
        return f"/apis/site/v2/sports/{LEAGUES[sport]}/scoreboard"

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        """Games and odds of `sport` on today's scoreboard; raises the request's SourceError."""
        response = await client.get_json(self.path(sport), {"limit": self.limit}, expect=dict)
        messages, _ = parse_scoreboard(response.data, sport, utcnow(), metrics=self.metrics)
        return messages


def parse_scoreboard(
    payload: object, sport: str, received_at: datetime, *, metrics: Metrics | None = None
) -> tuple[list[SourceMessage], int]:
    """A GameState per event and an OddsUpdate per priced market, and how many records (events
    or odds entries) were skipped."""
    reader = Reader(SOURCE, metrics)
    events = payload.get("events") if isinstance(payload, Mapping) else payload
    parsed = reader.each(events, lambda event: _event(event, sport, received_at, reader))
    out: list[SourceMessage] = []
    for game, odds in parsed:
        out.append(game)
        out.extend(odds)
    return out, reader.skipped


def american_price(value: object) -> float | None:
    """A decimal price from an american quote (-110, "+140", "EVEN"); None when there is none
    ("OFF", "", null)."""
    if value is None:
        return None
    if isinstance(value, str):
        quote = value.strip().upper()
        if quote in ("", "OFF", "N/A", "-"):
            return None
        if quote in ("EVEN", "EV", "EVS"):
            return 2.0
        value = float(quote.removeprefix("+"))
    return american_to_decimal(number(value, "american odds"))


def seconds_left(sport: str, period: int, clock: float) -> float:
    """Regulation seconds left at `clock` of `period` (0 in overtime)."""
    periods, length = _PERIODS[sport]
    if period > periods:
        return 0.0
    period = max(period, 1)
    in_period = period * length - clock if sport in _COUNTS_UP else clock
    return (periods - period) * length + min(max(in_period, 0.0), length)


# --- records ------------------------------------------------------------------------------


def _event(
    event: Mapping[str, Any], sport: str, received_at: datetime, reader: Reader
) -> tuple[GameState, list[OddsUpdate]]:
    competition = event["competitions"][0]
    sides = {side["homeAway"]: side for side in competition["competitors"]}
    home, away = sides["home"], sides["away"]
    status = competition.get("status") or event["status"]
    kind = status["type"]
    state = _status(kind)
    period, clock, left = _clock(status, sport, state)
    game = GameState(
        event_id=f"{SOURCE}:{text(event, 'id')}",
        sport=sport,
        home_team=text(home["team"], "displayName"),
        away_team=text(away["team"], "displayName"),
        commence_time=iso_time(competition.get("date") or event["date"], "date"),
        status=state,
        source=SOURCE,
        received_at=received_at,
        home_score=0 if state == "scheduled" else _score(home.get("score")),
        away_score=0 if state == "scheduled" else _score(away.get("score")),
        period=period,
        clock=clock,
        seconds_remaining=left,
    )
    odds = reader.each(competition.get("odds") or [], lambda entry: _odds(entry, game, sport))
    return game, [update for updates in odds for update in updates]


def _status(kind: Mapping[str, Any]) -> GameStatus:
    name = str(kind.get("name") or "").upper()
    if "POSTPONED" in name:
        return "postponed"
    if "CANCEL" in name or "ABANDON" in name:
        return "cancelled"
    state = kind.get("state")
    if state in _STATES:
        return _STATES[state]
    if kind.get("completed") is True:
        return "final"
    raise ValueError(f"unknown status state {state!r} ({name or 'no name'})")


def _clock(
    status: Mapping[str, Any], sport: str, state: GameStatus
) -> tuple[int, str | None, float | None]:
    """(period, display clock, regulation seconds left) of a status object."""
    regulation = _PERIODS[sport][0] * _PERIODS[sport][1]
    period = int(status.get("period") or 0)
    if state == "scheduled":
        return 0, None, regulation
    if state != "in_progress":
        return period, None, 0.0 if state == "final" else None
    display = status.get("displayClock")
    display = display if isinstance(display, str) and display else None
    raw = status.get("clock")
    clock = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    if clock is None and display is not None:
        clock = _parse_display(display, sport in _COUNTS_UP)
    if clock is None:
        return period, display, None
    if display is None:
        minutes, seconds = divmod(int(clock), 60)
        display = f"{minutes + 1}'" if sport in _COUNTS_UP else f"{minutes}:{seconds:02d}"
    return period, display, seconds_left(sport, period, clock)


def _parse_display(display: str, counts_up: bool) -> float | None:
    if counts_up:
        minute = _MINUTE.match(display)
        return None if minute is None else float(minute[1]) * 60.0
    mmss = _MMSS.match(display)
    return None if mmss is None else float(mmss[1]) * 60.0 + float(mmss[2])


def _score(value: object) -> int:
    if isinstance(value, Mapping):  # {value, displayValue} on schedule endpoints
        value = value.get("value", value.get("displayValue"))
    if isinstance(value, str):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"score = {value!r} is not a whole number")
    if isinstance(value, float) and not value.is_integer():  # also inf and nan: no OverflowError
        raise ValueError(f"score = {value!r} is not a whole number")
    return int(value)


def _odds(entry: Mapping[str, Any], game: GameState, sport: str) -> list[OddsUpdate]:
    provider = entry.get("provider") or {}
    name = provider.get("name") if isinstance(provider, Mapping) else None
    book = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") if isinstance(name, str) else ""
    priced: list[tuple[Market, tuple[OutcomePrice, ...] | None]] = [
        ("h2h", _moneyline(entry, game, sport)),
        ("spreads", _spreads(entry, game)),
        ("totals", _totals(entry)),
    ]
    return [
        OddsUpdate(
            event_id=game.event_id,
            sport=game.sport,
            home_team=game.home_team,
            away_team=game.away_team,
            commence_time=game.commence_time,
            book=book or DEFAULT_BOOK,
            market=market,
            outcomes=outcomes,
            source=SOURCE,
            received_at=game.received_at,
        )
        for market, outcomes in priced
        if outcomes is not None
    ]


def _moneyline(
    entry: Mapping[str, Any], game: GameState, sport: str
) -> tuple[OutcomePrice, ...] | None:
    def price(side: str, flat: str) -> float | None:
        quote = _dig(entry, flat, "moneyLine")
        return american_price(_dig(entry, "moneyline", side, "close", "odds") if quote is None
                              else quote)  # fmt: skip

    sides = [(game.home_team, price("home", "homeTeamOdds"))]
    if sport in _COUNTS_UP:  # soccer's moneyline is 1X2: without its draw it is not h2h
        sides.append(("Draw", price("draw", "drawOdds")))
    sides.append((game.away_team, price("away", "awayTeamOdds")))
    if any(quote is None for _, quote in sides):
        return None
    return tuple(OutcomePrice(name=name, price=quote) for name, quote in sides if quote is not None)


def _spreads(entry: Mapping[str, Any], game: GameState) -> tuple[OutcomePrice, ...] | None:
    home_line = _line(_dig(entry, "pointSpread", "home", "close", "line"))
    if home_line is None:
        home_line = _line(entry.get("spread"))
    away_line = _line(_dig(entry, "pointSpread", "away", "close", "line"))
    home = american_price(_either(entry, ("pointSpread", "home"), "homeTeamOdds", "spreadOdds"))
    away = american_price(_either(entry, ("pointSpread", "away"), "awayTeamOdds", "spreadOdds"))
    if home_line is None or home is None or away is None:
        return None
    return (
        OutcomePrice(name=game.home_team, price=home, point=home_line),
        OutcomePrice(
            name=game.away_team, price=away, point=-home_line if away_line is None else away_line
        ),
    )


def _totals(entry: Mapping[str, Any]) -> tuple[OutcomePrice, ...] | None:
    line = _line(entry.get("overUnder"))
    if line is None:
        line = _line(_dig(entry, "total", "over", "close", "line"))
    over = american_price(_either(entry, ("total", "over"), "overOdds"))
    under = american_price(_either(entry, ("total", "under"), "underOdds"))
    if line is None or over is None or under is None:
        return None
    return (
        OutcomePrice(name="Over", price=over, point=line),
        OutcomePrice(name="Under", price=under, point=line),
    )


def _either(entry: Mapping[str, Any], nested: tuple[str, str], *flat: str) -> object:
    """The quote under `nested`.close.odds (newer payloads), else the long-standing field."""
    quote = _dig(entry, *nested, "close", "odds")
    return _dig(entry, *flat) if quote is None else quote


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _line(value: object) -> float | None:
    """A spread or total line: a number, or text such as "-3.5", "o222.5", "PK"."""
    if value is None:
        return None
    if isinstance(value, str):
        line = value.strip().lower().lstrip("ou")
        if not line:
            return None
        return 0.0 if line in ("pk", "pick") else float(line)
    return float(number(value, "line"))
