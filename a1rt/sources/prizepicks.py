"""PrizePicks: player-prop lines from the unofficial projections API (providers.md §3).

League ids are not stable, so the provider reads `/leagues` once (again after `leagues_ttl`)
and keeps the sport -> league id map; a poll then asks for that league's projections
(JSON:API `data` + `included`), page by page while `meta` says there are more. PrizePicks has
no prices: a PropLine carries the line only. Only "standard" single-player lines are kept
(goblin/demon alternates and combos are not one player's line).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

from ..messages import PropLine, SourceMessage, utcnow
from ..metrics import Metrics
from ._payload import nonempty, optional_time
from .client import SourceClient
from .provider import SPORTS
from .records import parse_records

SOURCE: Final = "prizepicks"
# Board names per sport, preferred first ("SOCCER" mixes competitions: used only without "EPL").
LEAGUE_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "basketball_nba": ("NBA",),
    "americanfootball_nfl": ("NFL",),
    "soccer_epl": ("EPL", "SOCCER"),
}
STATS: Final[dict[str, str]] = {"points": "points", "rebounds": "rebounds", "assists": "assists"}
PLAYER_TYPES: Final = ("new_player", "player")
KEPT_ODDS_TYPES: Final = (None, "standard")


class PrizePicks:
    """The PrizePicks provider; no key (the API sits behind a DataDome wall instead)."""

    name = SOURCE
    sports = SPORTS

    def __init__(
        self,
        *,
        metrics: Metrics | None = None,
        per_page: int = 250,
        max_pages: int = 4,
        leagues_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_page < 1 or max_pages < 1:
            raise ValueError("per_page and max_pages must be at least 1")
        self.per_page = per_page
        self.max_pages = max_pages
        self.leagues_ttl = leagues_ttl
        self._metrics = metrics
        self._clock = clock
        self._leagues: dict[str, League] | None = None
        self._leagues_at = 0.0

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        """The current lines of `sport`'s board; [] when PrizePicks has no active board for it."""
        if sport not in LEAGUE_NAMES:
            raise ValueError(f"prizepicks does not cover {sport!r}")
        league = await self.league_for(client, sport)
        if league is None or not league.active:
            return []
        lines: list[SourceMessage] = []
        seen: set[tuple[str, str, str]] = set()
        for page in range(1, self.max_pages + 1):
            params: dict[str, str | int | bool] = {
                "league_id": league.id, "per_page": self.per_page, "single_stat": True,
            }  # fmt: skip
            if page > 1:
                params["page"] = page
            response = await client.get_json("/projections", params, expect=dict)
            parsed, _ = parse_projections(
                response.data, sport, received_at=utcnow(), metrics=self._metrics
            )
            for line in parsed:
                key = (line.event_id, line.player, line.stat)
                if key not in seen:
                    seen.add(key)
                    lines.append(line)
            if not _has_next_page(response.data, page):
                break
        return lines

    async def league_for(self, client: SourceClient, sport: str) -> League | None:
        """The league PrizePicks lists `sport` under, from the cached `/leagues` map."""
        now = self._clock()
        if self._leagues is None or now - self._leagues_at >= self.leagues_ttl:
            response = await client.get_json("/leagues", expect=dict)
            self._leagues = parse_leagues(response.data, metrics=self._metrics)
            self._leagues_at = now
        return next(
            (self._leagues[name] for name in LEAGUE_NAMES[sport] if name in self._leagues), None
        )


@dataclass(frozen=True, slots=True)
class League:
    """One PrizePicks league: its id, board name (upper case) and whether it is on the board."""

    id: str
    name: str
    active: bool


def parse_leagues(payload: Any, *, metrics: Metrics | None = None) -> dict[str, League]:
    """`/leagues` as upper-case name -> League."""
    data = payload.get("data") if isinstance(payload, dict) else None
    leagues, _ = parse_records(SOURCE, data, _league, metrics=metrics)
    return {league.name: league for league in leagues}


def parse_projections(
    payload: Any, sport: str, *, received_at: datetime, metrics: Metrics | None = None
) -> tuple[list[PropLine], int]:
    """The prop lines of a `/projections` payload; returns them and how many records were
    skipped (a projection whose player is not in `included` counts as skipped)."""
    fields = payload if isinstance(payload, dict) else {}
    players = _players(fields.get("included"))
    read = partial(_projection, sport=sport, players=players, received_at=received_at)
    lines, skipped = parse_records(SOURCE, fields.get("data"), read, metrics=metrics)
    return [line for line in lines if line is not None], skipped


def stat_key(stat_type: str) -> str:
    """a1rt's name for a PrizePicks stat type: "Points" -> "points", "Fantasy Score" ->
    "fantasy_score"."""
    lowered = " ".join(stat_type.lower().split())
    known = STATS.get(lowered)
    if known is not None:
        return known
    key = re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")
    if not key:
        raise ValueError(f"empty stat type {stat_type!r}")
    return key


def _league(record: Any) -> League:
    attributes = record["attributes"]
    active = attributes.get("active", True)
    return League(_id(record["id"]), nonempty(attributes["name"]).upper(), active is not False)


def _players(included: object) -> dict[str, Mapping[str, Any]]:
    """Player attributes by id; unreadable `included` items are ignored (a projection that
    needs one is then skipped and counted)."""
    players: dict[str, Mapping[str, Any]] = {}
    for item in included if isinstance(included, list) else ():
        if not isinstance(item, dict) or item.get("type") not in PLAYER_TYPES:
            continue
        attributes = item.get("attributes")
        if isinstance(attributes, dict):
            players[str(item.get("id"))] = attributes
    return players


def _projection(
    record: Any,
    *,
    sport: str,
    players: Mapping[str, Mapping[str, Any]],
    received_at: datetime,
) -> PropLine | None:
    if record.get("type", "projection") != "projection":
        return None
    attributes = record["attributes"]
    relationships = record.get("relationships") or {}
    if attributes.get("odds_type") not in KEPT_ODDS_TYPES:
        return None
    player_id = _related_id(relationships, "new_player") or _related_id(relationships, "player")
    if player_id is None:
        raise KeyError("projection without a player")
    player = players[player_id]
    if player.get("combo") is True:
        return None
    game_id = _related_id(relationships, "game") or _id(attributes["game_id"])
    return PropLine(
        event_id=f"{SOURCE}:{game_id}",
        sport=sport,
        player=nonempty(player.get("name") or player.get("display_name")),
        team=_team(player),
        stat=stat_key(nonempty(attributes["stat_type"])),
        line=_number(attributes["line_score"]),
        source=SOURCE,
        received_at=received_at,
        source_time=optional_time(attributes.get("updated_at")),
    )


def _related_id(relationships: Mapping[str, Any], name: str) -> str | None:
    """The id of a JSON:API relationship `{"data": {"type", "id"}}`; None when absent or null."""
    related = relationships.get(name)
    data = related.get("data") if isinstance(related, dict) else None
    if not isinstance(data, dict) or data.get("id") in (None, ""):
        return None
    return str(data["id"])


def _team(player: Mapping[str, Any]) -> str:
    """The player's full team name ("Golden State" + "Warriors"), else the abbreviation."""
    market, name = player.get("market"), player.get("team_name")
    if isinstance(market, str) and isinstance(name, str) and market and name:
        return name if name.startswith(market) else f"{market} {name}"
    team = player.get("team") or name
    return team if isinstance(team, str) else ""


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"line_score is {type(value).__name__}")
    number = float(value)
    if number != number or number < 0:
        raise ValueError(f"line_score {value!r} is not a line")
    return number


def _has_next_page(payload: Any, page: int) -> bool:
    meta = payload.get("meta") if isinstance(payload, dict) else None
    total = meta.get("total_pages") if isinstance(meta, dict) else None
    return isinstance(total, int) and page < total


def _id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return nonempty(value)
