"""What the live World reports at a moment: games, book markets and player props.

Times are wall-clock epoch seconds (UTC). Field names follow `a1rt.messages` so the simulated
source maps them one to one; the true probabilities are extra, for evaluation and benchmarks.
"""

from __future__ import annotations

import msgspec

from a1rt.messages import Market, OutcomePrice

from .sports import GameStatus


class GameView(msgspec.Struct, frozen=True, kw_only=True):
    """One game's schedule, score, clock and true outcome probabilities."""

    event_id: str
    sport: str
    home_team: str
    away_team: str
    commence_time: float
    status: GameStatus
    period: int  # 0 before the start; overtimes continue the count
    clock: float  # seconds left in the period
    seconds_remaining: float  # regulation seconds left (0 in overtime and at the end)
    home_score: int
    away_score: int
    outcomes: tuple[str, ...]  # ("home", "away") or ("home", "draw", "away")
    true_probabilities: tuple[float, ...]  # per outcome, given everything the simulator knows


class BookMarket(msgspec.Struct, frozen=True, kw_only=True):
    """One book's prices for one market of one game, and the true probability of each outcome."""

    event_id: str
    book: str
    market: Market
    outcomes: tuple[OutcomePrice, ...]
    true_probabilities: tuple[float, ...]
    last_update: float


class PropQuote(msgspec.Struct, frozen=True, kw_only=True):
    """One book's over/under prices on a player's stat line."""

    event_id: str
    book: str
    player: str
    team: str
    stat: str
    line: float
    over_price: float
    under_price: float
    true_over_probability: float
    last_update: float


class WorldState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the World shows at one moment: games from their opening until a while after
    the final whistle, with the markets and props open then."""

    time: float
    games: tuple[GameView, ...]
    markets: tuple[BookMarket, ...]
    props: tuple[PropQuote, ...]
