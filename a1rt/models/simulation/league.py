"""A simulated league: seasons of scheduled games, their hidden parameters and their results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from ._exceptions import InvalidSimulationError
from ._types import FloatArray, IntArray
from .basketball import BasketballGames, basketball_games, simulate_basketball
from .football import FootballGames, football_games, simulate_football
from .games import Results, concat, take
from .players import PlayerGames, simulate_players
from .schedule import Schedule, season_day0, season_schedule
from .soccer import SoccerGames, simulate_soccer, soccer_games
from .sports import Sport, SportRules, rules
from .streams import Purpose, check_seed, stream
from .strengths import game_strengths, season_drift, season_strengths
from .teams import team_names

AnyGames = BasketballGames | FootballGames | SoccerGames
FIRST_SEASON: Final = 2016  # the calendar year the first simulated season starts in
MAX_SEASONS: Final = 100


@dataclass(frozen=True)
class League:
    """Games of one sport over one or more seasons, in season then start order."""

    sport: Sport
    seed: int
    teams: tuple[str, ...]
    schedule: Schedule
    games: AnyGames
    results: Results
    players: PlayerGames | None  # NBA only: the props players' expected and actual stats

    @property
    def rules(self) -> SportRules:
        """The sport's clock and market timetable."""
        return rules(self.sport)

    @property
    def size(self) -> int:
        """How many games the league holds."""
        return int(self.schedule.start.size)

    @property
    def end_time(self) -> FloatArray:
        """When each game finished (epoch seconds, UTC)."""
        return self.schedule.start + self.rules.wall_offset(self.results.duration)

    def outcome(self) -> IntArray:
        """Index of each game's result in the h2h outcomes."""
        return self.results.outcome(self.games.outcomes)

    def select(self, index: IntArray) -> League:
        """The league restricted to the games at `index`."""
        players = None if self.players is None else take(self.players, index)
        return League(
            sport=self.sport,
            seed=self.seed,
            teams=self.teams,
            schedule=take(self.schedule, index),
            games=take(self.games, index),
            results=take(self.results, index),
            players=players,
        )


def simulate_season(
    sport: str, *, seed: int, season: int, day0: float, strengths: FloatArray
) -> League:
    """Season `season` of a sport, its first game day starting at `day0` (midnight UTC).

    `strengths` are the teams' strengths at the start of the season, from `season_strengths`.
    """
    key = rules(sport).key
    teams = team_names(key)
    schedule = season_schedule(
        key, len(teams), season, day0, stream(seed, key, season, Purpose.SCHEDULE)
    )
    drift = season_drift(seed, key, season, len(teams), int(schedule.day.max()) + 1)
    home = game_strengths(strengths, drift, schedule.home, schedule.day)
    away = game_strengths(strengths, drift, schedule.away, schedule.day)
    rng = stream(seed, key, season, Purpose.GAMES)
    games, results = _play_season(key, home, away, schedule, rng)
    players = None
    if isinstance(games, BasketballGames):
        players = simulate_players(seed, season, schedule, games)
    return League(key, seed, teams, schedule, games, results, players)


def simulate_league(
    sport: str, *, seed: int = 0, seasons: int = 6, first_season: int = FIRST_SEASON
) -> League:
    """`seasons` consecutive seasons of a sport on the real calendar, from `first_season`."""
    key = rules(sport).key
    check_seed(seed)
    if not 1 <= seasons <= MAX_SEASONS:
        raise InvalidSimulationError(f"seasons = {seasons!r} must be within 1..{MAX_SEASONS}")
    start = season_strengths(seed, key, seasons, len(team_names(key)))
    parts = [
        simulate_season(
            key, seed=seed, season=s, day0=season_day0(key, first_season + s), strengths=start[s]
        )
        for s in range(seasons)
    ]
    return concat_leagues(parts)


def concat_leagues(parts: list[League]) -> League:
    """One league holding the games of several (in time order)."""
    first = parts[0]
    players = None if first.players is None else concat([p.players for p in parts if p.players])
    return League(
        sport=first.sport,
        seed=first.seed,
        teams=first.teams,
        schedule=concat([p.schedule for p in parts]),
        games=concat([p.games for p in parts]),
        results=concat([p.results for p in parts]),
        players=players,
    )


def _play_season(
    sport: Sport,
    home: FloatArray,
    away: FloatArray,
    schedule: Schedule,
    rng: np.random.Generator,
) -> tuple[AnyGames, Results]:
    rest = (schedule.home_rest, schedule.away_rest)
    if sport == "basketball_nba":
        nba = basketball_games(home, away, *rest)
        return nba, simulate_basketball(nba, rng)
    if sport == "americanfootball_nfl":
        nfl = football_games(home, away, *rest, rng)
        return nfl, simulate_football(nfl, rng)
    epl = soccer_games(home, away, *rest)
    return epl, simulate_soccer(epl, rng)
