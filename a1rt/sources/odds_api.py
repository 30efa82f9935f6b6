"""The Odds API v4 (reference/providers.md §1): odds and scores per sport, normalised.

One poll reads `/v4/sports/{sport}/odds` (h2h, spreads, totals in decimal odds) and
`/v4/sports/{sport}/scores` at once. Scores give a GameState per event (scores are strings,
`null` before the start; there is no clock or period); events only in the odds and not yet
started give a scheduled GameState; every bookmaker's market gives an OddsUpdate. Prices arrive
decimal, but american quotes (integers of 100 or more, or -100 or less) are converted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, get_args

import msgspec

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
from ._payload import Reader, data_of, iso_time, number, text
from .client import JsonRequest, SourceClient
from .provider import SPORTS, normalize_team

SOURCE: Final = "odds_api"
MARKETS: Final[tuple[Market, ...]] = get_args(Market)


@dataclass(frozen=True, slots=True)
class OddsEvent:
    """An event of the odds payload: its game as a scheduled GameState, and its prices."""

    game: GameState
    odds: tuple[OddsUpdate, ...]


class OddsApi:
    """The Odds API as a Provider; `regions` choose the books (us, us2, uk, au, eu)."""

    name = SOURCE

    def __init__(
        self,
        *,
        regions: tuple[str, ...] = ("us", "eu"),
        markets: tuple[Market, ...] = MARKETS,
        days_from: int | None = 1,
        sports: tuple[str, ...] = SPORTS,
        metrics: Metrics | None = None,
    ) -> None:
        self.regions = regions
        self.markets = markets
        self.days_from = days_from
        self.sports = sports
        self.metrics = metrics

    def requests(self, sport: str) -> dict[str, JsonRequest]:
        """The two GETs of one poll of `sport` (the client adds the key)."""
        odds = {"regions": self.regions, "markets": self.markets,
                "oddsFormat": "decimal", "dateFormat": "iso"}  # fmt: skip
        scores: dict[str, str | int] = {"dateFormat": "iso"}
        if self.days_from is not None:
            scores["daysFrom"] = self.days_from
        return {
            "odds": JsonRequest(f"/v4/sports/{sport}/odds", odds, expect=list),
            "scores": JsonRequest(f"/v4/sports/{sport}/scores", scores, expect=list),
        }

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        """Games and prices of `sport` now; raises the SourceError of a failed request."""
        answers = await client.get_json_many(self.requests(sport))
        odds, scores = data_of(answers["odds"]), data_of(answers["scores"])
        received = utcnow()
        events, _ = parse_odds_events(odds, received, metrics=self.metrics)
        games, _ = parse_scores(scores, received, metrics=self.metrics)
        return merge(games, events, received)


def merge(
    games: list[GameState], events: list[OddsEvent], received_at: datetime
) -> list[SourceMessage]:
    """The scores' games, the odds' events missing from them that have not started, then every
    OddsUpdate."""
    out: list[SourceMessage] = list(games)
    known = {game.event_id for game in games}
    for event in events:
        if event.game.event_id not in known and event.game.commence_time > received_at:
            out.append(event.game)
            known.add(event.game.event_id)
    for event in events:
        out.extend(event.odds)
    return out


def parse_odds(
    payload: object, received_at: datetime, *, metrics: Metrics | None = None
) -> tuple[list[OddsUpdate], int]:
    """Every bookmaker's market of an /odds payload, and how many records were skipped."""
    events, skipped = parse_odds_events(payload, received_at, metrics=metrics)
    return [update for event in events for update in event.odds], skipped


def parse_odds_events(
    payload: object, received_at: datetime, *, metrics: Metrics | None = None
) -> tuple[list[OddsEvent], int]:
    """The events of an /odds payload; a bad event, bookmaker or market is skipped alone."""
    reader = Reader(SOURCE, metrics)
    events = reader.each(payload, lambda record: _odds_event(record, received_at, reader))
    return events, reader.skipped


def parse_scores(
    payload: object, received_at: datetime, *, metrics: Metrics | None = None
) -> tuple[list[GameState], int]:
    """A GameState per event of a /scores payload, and how many records were skipped."""
    reader = Reader(SOURCE, metrics)
    games = reader.each(payload, lambda record: _score_event(record, received_at))
    return games, reader.skipped


def decimal_price(value: object) -> float:
    """A decimal price above 1 from a quote that is decimal, or american (an integer of 100 or
    more, or any quote of -100 or less); ValueError or TypeError otherwise."""
    value = number(value, "price")
    if value <= -100 or (isinstance(value, int) and value >= 100):
        return american_to_decimal(value)
    price = float(value)
    if not math.isfinite(price) or price <= 1.0:
        raise ValueError(f"price = {value!r} is not a decimal price above 1")
    return price


def parse_time(value: object) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (naive taken as UTC) or epoch seconds."""
    if isinstance(value, str):
        return iso_time(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError) as exc:
            raise ValueError(f"timestamp {value!r} is out of range") from exc
    raise TypeError(f"time = {value!r} is neither an ISO string nor epoch seconds")


# --- records ------------------------------------------------------------------------------


def _odds_event(record: Mapping[str, Any], received_at: datetime, reader: Reader) -> OddsEvent:
    game = _game(record, received_at, "scheduled")
    books = reader.each(record.get("bookmakers", []), lambda book: _bookmaker(book, game, reader))
    return OddsEvent(game, tuple(update for updates in books for update in updates))


def _bookmaker(record: Mapping[str, Any], game: GameState, reader: Reader) -> list[OddsUpdate]:
    book = text(record, "key")
    stamp = record.get("last_update")
    book_time = None if stamp is None else parse_time(stamp)
    updates = reader.each(record["markets"], lambda market: _market(market, game, book, book_time))
    return [update for update in updates if update is not None]


def _market(
    record: Mapping[str, Any], game: GameState, book: str, book_time: datetime | None
) -> OddsUpdate | None:
    key = text(record, "key")
    if key not in MARKETS:
        return None  # outrights, h2h_lay and other markets a1rt does not model
    outcomes = tuple(_outcome(outcome) for outcome in record["outcomes"])
    if len(outcomes) < 2:
        raise ValueError(f"{key} market has {len(outcomes)} outcome(s)")
    stamp = record.get("last_update")
    return OddsUpdate(
        event_id=game.event_id,
        sport=game.sport,
        home_team=game.home_team,
        away_team=game.away_team,
        commence_time=game.commence_time,
        book=book,
        market=key,
        outcomes=outcomes,
        source=SOURCE,
        received_at=game.received_at,
        source_time=book_time if stamp is None else parse_time(stamp),
    )


def _outcome(record: Mapping[str, Any]) -> OutcomePrice:
    raw = record.get("point")
    point = None if raw is None else float(number(raw, "point"))
    return OutcomePrice(
        name=text(record, "name"), price=decimal_price(record["price"]), point=point
    )


def _score_event(record: Mapping[str, Any], received_at: datetime) -> GameState:
    completed = record.get("completed", False)
    if not isinstance(completed, bool):
        raise TypeError(f"completed = {completed!r} is not a boolean")
    scores = record.get("scores")
    status: GameStatus = "final" if completed else "scheduled" if scores is None else "in_progress"
    stamp = record.get("last_update")
    game = _game(record, received_at, status, None if stamp is None else parse_time(stamp))
    if scores is None:
        return game
    home, away = _score_of(scores, game.home_team), _score_of(scores, game.away_team)
    return msgspec.structs.replace(game, home_score=home, away_score=away)


def _game(
    record: Mapping[str, Any],
    received_at: datetime,
    status: GameStatus,
    source_time: datetime | None = None,
) -> GameState:
    return GameState(
        event_id=f"{SOURCE}:{text(record, 'id')}",
        sport=text(record, "sport_key"),
        home_team=text(record, "home_team"),
        away_team=text(record, "away_team"),
        commence_time=parse_time(record["commence_time"]),
        status=status,
        source=SOURCE,
        received_at=received_at,
        source_time=source_time,
        seconds_remaining=0.0 if status == "final" else None,
    )


def _score_of(scores: list[Mapping[str, Any]], team: str) -> int:
    """The score of `team` in a scores list, matched by name (or its normalised form)."""
    entries = {text(entry, "name"): entry.get("score") for entry in scores}
    if team not in entries:
        wanted = normalize_team(team)
        team = next((name for name in entries if normalize_team(name) == wanted), team)
    value = entries[team]
    score = int(value.strip()) if isinstance(value, str) else value
    if isinstance(score, bool) or not isinstance(score, int) or score < 0:
        raise ValueError(f"score of {team} = {value!r} is not a whole number")
    return score
