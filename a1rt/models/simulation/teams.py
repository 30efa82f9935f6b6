"""Team names of the simulated leagues (the real clubs; their strengths are simulated)."""

from __future__ import annotations

from typing import Final

from .sports import Sport, rules

NBA_TEAMS: Final[tuple[str, ...]] = (
    "Atlanta Hawks", "Boston Celtics", "Brooklyn Nets", "Charlotte Hornets", "Chicago Bulls",
    "Cleveland Cavaliers", "Dallas Mavericks", "Denver Nuggets", "Detroit Pistons",
    "Golden State Warriors", "Houston Rockets", "Indiana Pacers", "Los Angeles Clippers",
    "Los Angeles Lakers", "Memphis Grizzlies", "Miami Heat", "Milwaukee Bucks",
    "Minnesota Timberwolves", "New Orleans Pelicans", "New York Knicks",
    "Oklahoma City Thunder", "Orlando Magic", "Philadelphia 76ers", "Phoenix Suns",
    "Portland Trail Blazers", "Sacramento Kings", "San Antonio Spurs", "Toronto Raptors",
    "Utah Jazz", "Washington Wizards",
)  # fmt: skip

NFL_TEAMS: Final[tuple[str, ...]] = (
    "Arizona Cardinals", "Atlanta Falcons", "Baltimore Ravens", "Buffalo Bills",
    "Carolina Panthers", "Chicago Bears", "Cincinnati Bengals", "Cleveland Browns",
    "Dallas Cowboys", "Denver Broncos", "Detroit Lions", "Green Bay Packers", "Houston Texans",
    "Indianapolis Colts", "Jacksonville Jaguars", "Kansas City Chiefs", "Las Vegas Raiders",
    "Los Angeles Chargers", "Los Angeles Rams", "Miami Dolphins", "Minnesota Vikings",
    "New England Patriots", "New Orleans Saints", "New York Giants", "New York Jets",
    "Philadelphia Eagles", "Pittsburgh Steelers", "San Francisco 49ers", "Seattle Seahawks",
    "Tampa Bay Buccaneers", "Tennessee Titans", "Washington Commanders",
)  # fmt: skip

EPL_TEAMS: Final[tuple[str, ...]] = (
    "Arsenal", "Aston Villa", "Bournemouth", "Brentford", "Brighton and Hove Albion",
    "Chelsea", "Crystal Palace", "Everton", "Fulham", "Ipswich Town", "Leicester City",
    "Liverpool", "Manchester City", "Manchester United", "Newcastle United",
    "Nottingham Forest", "Southampton", "Tottenham Hotspur", "West Ham United",
    "Wolverhampton Wanderers",
)  # fmt: skip

_TEAMS: Final[dict[Sport, tuple[str, ...]]] = {
    "basketball_nba": NBA_TEAMS,
    "americanfootball_nfl": NFL_TEAMS,
    "soccer_epl": EPL_TEAMS,
}


def team_names(sport: str) -> tuple[str, ...]:
    """The teams of a simulated league, in index order."""
    return _TEAMS[rules(sport).key]
