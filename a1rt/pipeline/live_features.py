"""The live feature vectors of one event: the same definitions the simulator's datasets train on.

- Team form (Elo, points scored and allowed) is updated by `update_team_pair`, the very function
  the training datasets use, once per game as it goes final; a team not yet seen starts where
  training starts (Elo 1500, the sport's average points).
- Market features are the devigged consensus (the mean of each book's `power`-devigged prices,
  as `MarketPrices.consensus` computes it) and the median line.
- Rest days: days since the team's previous game started, clipped to the schema; a team with no
  game seen yet gets the sport's usual rest.
Every value is clipped to its feature's [min, max], so a live oddity never makes a 422.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np

from ..betting import BettingError, devig
from ..messages import GameState, OddsUpdate, PropLine
from ..models import FeatureSpec
from ..models.simulation.players import STATS
from ..models.simulation.ratings import ELO_RULES, ELO_START, update_team_pair
from ..sources.provider import normalize_team

USUAL_REST_DAYS: dict[str, float] = {
    "basketball_nba": 2.0,
    "americanfootball_nfl": 7.0,
    "soccer_epl": 7.0,
}
REGULATION: dict[str, float] = {
    "basketball_nba": 2880.0,
    "americanfootball_nfl": 3600.0,
    "soccer_epl": 5400.0,
}


@dataclass(slots=True)
class TeamForm:
    """Each team's Elo and scoring averages, and when its latest game started, per sport."""

    sport: str
    ratings: dict[str, np.ndarray] = field(default_factory=dict)
    last_start: dict[str, datetime] = field(default_factory=dict)

    def of(self, team: str) -> np.ndarray:
        key = normalize_team(team)
        found = self.ratings.get(key)
        if found is None:
            average = ELO_RULES[self.sport].average_points  # type: ignore[index]
            found = self.ratings[key] = np.array([ELO_START, average, average])
        return found

    def record_final(self, game: GameState) -> None:
        """Update both teams after a final score (call once per game)."""
        home, away = self.of(game.home_team), self.of(game.away_team)
        state = np.vstack([home, away])
        rule = ELO_RULES[self.sport]  # type: ignore[index]
        update_team_pair(rule, self.sport, state, 0, 1, (game.home_score, game.away_score))  # type: ignore[arg-type]
        home[:], away[:] = state[0], state[1]
        for team in (game.home_team, game.away_team):
            key = normalize_team(team)
            previous = self.last_start.get(key)
            if previous is None or previous < game.commence_time:
                self.last_start[key] = game.commence_time

    def rest_days(self, team: str, start: datetime) -> float:
        previous = self.last_start.get(normalize_team(team))
        if previous is None or previous >= start:
            return USUAL_REST_DAYS[self.sport]
        return float((start - previous).total_seconds() // 86400)


def consensus(updates: list[OddsUpdate], names: tuple[str, ...]) -> list[float] | None:
    """The mean of the books' power-devigged probabilities of `names`, in that order (names
    compared normalised, so providers' spellings agree)."""
    names = tuple(normalize_team(n) for n in names)
    fair: list[tuple[float, ...]] = []
    for update in updates:
        prices = {normalize_team(o.name): o.price for o in update.outcomes}
        if not all(n in prices for n in names):
            continue
        devigged = _fair(tuple(prices[n] for n in names))
        if devigged is not None:
            fair.append(devigged)
    if not fair:
        return None
    return [float(x) for x in np.mean(np.asarray(fair), axis=0)]


@lru_cache(maxsize=65_536)
def _fair(prices: tuple[float, ...]) -> tuple[float, ...] | None:
    """One book's prices devigged (remembered: a recompute re-reads every book's prices)."""
    try:
        return tuple(float(p) for p in devig(prices, "power"))
    except (BettingError, ValueError):
        return None


def median_point(updates: list[OddsUpdate], name: str) -> float | None:
    name = normalize_team(name)
    points = [
        o.point
        for u in updates
        for o in u.outcomes
        if o.point is not None and normalize_team(o.name) == name
    ]
    return statistics.median(points) if points else None


def h2h_features(
    game: GameState, odds: dict[str, list[OddsUpdate]], form: TeamForm
) -> dict[str, float] | None:
    """The h2h model's features; None until the market has h2h prices."""
    sport = game.sport
    three_way = sport == "soccer_epl"
    names = (
        (game.home_team, "Draw", game.away_team) if three_way else (game.home_team, game.away_team)
    )
    market = consensus(odds.get("h2h", []), names)
    if market is None:
        return None
    in_play = game.status == "in_progress"
    regulation = REGULATION[sport]
    remaining = game.seconds_remaining if game.seconds_remaining is not None else regulation
    features = {
        "elo_diff": float(form.of(game.home_team)[0] - form.of(game.away_team)[0]),
        "home_rest_days": form.rest_days(game.home_team, game.commence_time),
        "away_rest_days": form.rest_days(game.away_team, game.commence_time),
        "market_home_p": market[0],
        "seconds_remaining": float(round(remaining)) if in_play else regulation,
        "score_diff": float(game.home_score - game.away_score) if in_play else 0.0,
        "period": float(game.period) if in_play else 0.0,
    }
    if three_way:
        features["market_draw_p"] = market[1]
        total = median_point(odds.get("totals", []), "Over")
        features["market_total"] = 2.5 if total is None else total
    else:
        spread = median_point(odds.get("spreads", []), game.home_team)
        features["market_spread"] = 0.0 if spread is None else spread
    return features


def totals_features(
    game: GameState, odds: dict[str, list[OddsUpdate]], form: TeamForm
) -> dict[str, float] | None:
    """The totals model's features; None until the market has a total line."""
    totals = odds.get("totals", [])
    line = median_point(totals, "Over")
    market = consensus([u for u in totals if _point(u, "Over") == line], ("Over", "Under"))
    if line is None or market is None or game.status != "scheduled":
        return None
    home, away = form.of(game.home_team), form.of(game.away_team)
    return {
        "market_total": line,
        "market_over_p": market[0],
        "home_points_avg": float(home[1]),
        "home_allowed_avg": float(home[2]),
        "away_points_avg": float(away[1]),
        "away_allowed_avg": float(away[2]),
        "home_rest_days": form.rest_days(game.home_team, game.commence_time),
        "away_rest_days": form.rest_days(game.away_team, game.commence_time),
    }


def props_features(
    game: GameState,
    odds: dict[str, list[OddsUpdate]],
    form: TeamForm,
    lines: list[PropLine],
) -> dict[str, float] | None:
    """One player's stat line: the books' consensus at the most quoted line. None without
    prices (PrizePicks shows lines only) or a game total. The feed carries no box scores, so
    `player_avg` is the market's line itself, the best live estimate of the player's mean."""
    priced = [p for p in lines if p.over_price and p.under_price]
    if not priced or game.status != "scheduled" or priced[0].stat not in STATS:
        return None
    line = statistics.mode(p.line for p in priced)
    fair = [_fair((p.over_price, p.under_price)) for p in priced if p.line == line]
    over = [f[0] for f in fair if f is not None]
    total = median_point(odds.get("totals", []), "Over")
    if not over or total is None:
        return None
    first = priced[0]
    home = normalize_team(first.team) == normalize_team(game.home_team)
    opponent = game.away_team if home else game.home_team
    return {
        "stat_kind": float(STATS.index(first.stat)),
        "line": line,
        "market_over_p": statistics.fmean(over),
        "player_avg": line,
        "is_home": 1.0 if home else 0.0,
        "rest_days": form.rest_days(first.team, game.commence_time),
        "market_total": total,
        "opponent_allowed_avg": float(form.of(opponent)[2]),
    }


def _point(update: OddsUpdate, name: str) -> float | None:
    name = normalize_team(name)
    return next((o.point for o in update.outcomes if normalize_team(o.name) == name), None)


def clipped_row(specs: tuple[FeatureSpec, ...], features: dict[str, float]) -> tuple[float, ...]:
    """The features in schema order, each clipped to its range (ints rounded)."""
    row = []
    for spec in specs:
        value = min(max(features[spec.name], spec.min), spec.max)
        row.append(float(round(value)) if spec.type in ("int", "bool") else value)
    return tuple(row)
