"""What a poller needs from one provider module: the sports it covers and one poll of a sport.

A provider turns the provider's payloads into `a1rt.messages` (GameState, OddsUpdate, PropLine),
each carrying `source`, the provider's own timestamp (`source_time`) and `received_at`. A failed
request raises a `SourceError` (from the `SourceClient`); a record that does not parse is skipped
and counted through `parse_records`, and the rest of the payload is still used.

Event ids are the provider's own, prefixed with the source (`odds_api:abc123`); the feature cache
matches one game across providers by sport, teams (`normalize_team`) and start time.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

from ..messages import SourceMessage
from .client import SourceClient

SPORTS: tuple[str, ...] = ("basketball_nba", "americanfootball_nfl", "soccer_epl")


class Provider(Protocol):
    """One data provider, polled sport by sport by the poller actor."""

    name: str
    sports: tuple[str, ...]

    async def poll(self, client: SourceClient, sport: str) -> list[SourceMessage]:
        """Everything the provider says now about `sport`, normalised."""
        ...


_ALIASES: dict[str, str] = {
    # short or historic forms seen across providers -> the full name the simulator uses
    "la clippers": "los angeles clippers",
    "la lakers": "los angeles lakers",
    "la rams": "los angeles rams",
    "la chargers": "los angeles chargers",
    "ny knicks": "new york knicks",
    "ny giants": "new york giants",
    "ny jets": "new york jets",
    "man city": "manchester city",
    "man united": "manchester united",
    "man utd": "manchester united",
    "manchester utd": "manchester united",
    "spurs": "tottenham hotspur",
    "tottenham": "tottenham hotspur",
    "wolves": "wolverhampton wanderers",
    "wolverhampton": "wolverhampton wanderers",
    "brighton": "brighton and hove albion",
    "brighton hove albion": "brighton and hove albion",
    "newcastle": "newcastle united",
    "west ham": "west ham united",
    "nottingham forest": "nottingham forest",
    "nottm forest": "nottingham forest",
    "leicester": "leicester city",
    "ipswich": "ipswich town",
    "bournemouth": "afc bournemouth",
    "sheffield utd": "sheffield united",
    "leeds": "leeds united",
    "washington football team": "washington commanders",
    "oakland raiders": "las vegas raiders",
    "san diego chargers": "los angeles chargers",
}
_SUFFIXES = (" fc", " afc")


@lru_cache(maxsize=8192)
def normalize_team(name: str) -> str:
    """A comparable form of a team name: case, accents, punctuation, 'FC' and known aliases
    folded, so 'Brighton & Hove Albion FC' and 'Brighton' agree."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"&", " and ", text.lower())
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = " ".join(text.split())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
    if text.startswith("afc ") and text != "afc bournemouth":
        text = text[4:]
    return _ALIASES.get(text, text)
