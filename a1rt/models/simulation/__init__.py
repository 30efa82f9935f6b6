"""A seeded, deterministic simulator of leagues, games, in-play states and betting markets.

Three leagues (NBA, NFL, EPL) with drifting team strengths and real-calendar schedules; games
played out with exact true probabilities in every state; a sharp book and four soft books
pricing h2h, spreads, totals and NBA player props from the opening to the close and in play.
`build_dataset` turns it into training data for the trainer (see `a1rt.models.dataset`), and
`World` serves it live to the `simulated` source. Same seed, same answers.
"""

from __future__ import annotations

from ._exceptions import (
    InvalidSimulationError,
    SimulationError,
    UnknownDatasetError,
    UnknownSportError,
)
from .basketball import BasketballGames
from .board import MarketBoard, MarketPrices, price_league
from .books import BOOKS, Book
from .datasets import DATASET_NAMES, build_dataset, dataset_from_league
from .football import FootballGames
from .games import GameModel, Results
from .league import League, simulate_league, simulate_season
from .live import GameSnapshots, LiveState, game_snapshots, live_state
from .players import STATS, PlayerGames, player_names
from .props import PropBoard, price_props
from .ratings import Timeline, player_form, team_form
from .soccer import SoccerGames
from .sports import SPORTS, GameStatus, Sport, SportRules, rules
from .views import BookMarket, GameView, PropQuote, WorldState
from .world import World

__all__ = [
    "BOOKS",
    "DATASET_NAMES",
    "SPORTS",
    "STATS",
    "BasketballGames",
    "Book",
    "BookMarket",
    "FootballGames",
    "GameModel",
    "GameSnapshots",
    "GameStatus",
    "GameView",
    "InvalidSimulationError",
    "League",
    "LiveState",
    "MarketBoard",
    "MarketPrices",
    "PlayerGames",
    "PropBoard",
    "PropQuote",
    "Results",
    "SimulationError",
    "SoccerGames",
    "Sport",
    "SportRules",
    "Timeline",
    "UnknownDatasetError",
    "UnknownSportError",
    "World",
    "WorldState",
    "build_dataset",
    "dataset_from_league",
    "game_snapshots",
    "live_state",
    "player_form",
    "player_names",
    "price_league",
    "price_props",
    "rules",
    "simulate_league",
    "simulate_season",
    "team_form",
]
