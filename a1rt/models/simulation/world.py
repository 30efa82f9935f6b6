"""The live World: a simulated league running in (optionally accelerated) real time.

`World(seed, sport, start, speed)` plays season after season from the day before `start`; at any
wall-clock moment t it reports every visible game's state and every book's prices. World time
runs `speed` times faster than the wall clock from `start`; every time it reports is wall clock.
The answers depend only on (seed, sport, start, speed, t), so replicas and reruns agree.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, cast

import numpy as np
import numpy.typing as npt

from a1rt.messages import Market, OutcomePrice

from ._exceptions import InvalidSimulationError
from ._types import FloatArray, IntArray
from .board import MarketBoard, MarketPrices, price_league
from .books import BOOKS
from .league import League, simulate_season
from .live import LiveNoise, live_noise, live_quotes, step_of
from .players import STATS, player_names
from .props import PropBoard, price_props
from .schedule import DAY
from .sports import GameStatus, rules
from .streams import check_seed
from .strengths import season_strengths
from .teams import team_names
from .views import BookMarket, GameView, PropQuote, WorldState

LINGER: Final = 2 * 3600.0  # world seconds a finished game stays in view
MAX_WORLD_SEASONS: Final = 1000
_KEPT_SEASONS: Final = 3  # built seasons kept in memory; older ones are rebuilt on demand
_SEASON_GAP_DAYS: Final = 2


@dataclass(frozen=True)
class _Standing:
    """The shown games of a season at one world moment."""

    game: IntArray
    clock: FloatArray
    home: IntArray
    away: IntArray
    probs: FloatArray
    status: npt.NDArray[np.str_]


@dataclass(frozen=True)
class _Span:
    """When a season runs: its first game day, first market opening and last final whistle."""

    day0: float
    opens: float
    ends: float


@dataclass(frozen=True)
class _Season:
    index: int
    day0: float
    league: League
    board: MarketBoard
    noise: LiveNoise
    props: PropBoard | None
    ends: FloatArray

    @property
    def opens(self) -> FloatArray:
        return self.board.times[:, 0]


class World:
    """A deterministic simulated league whose state can be read at any moment."""

    def __init__(self, seed: int, sport: str, start: float, speed: float = 1.0) -> None:
        self.seed = check_seed(seed)
        self.rules = rules(sport)
        self.start = _finite(start, "start")
        self.speed = _finite(speed, "speed")
        if self.speed <= 0.0:
            raise InvalidSimulationError(f"speed = {speed!r} must be above 0")
        self._spans: list[_Span] = []  # every season reached so far: small, kept for good
        self._built: OrderedDict[int, _Season] = OrderedDict()  # the last few, least recent first
        self._lock = threading.Lock()

    @property
    def sport(self) -> str:
        """The simulated sport's key."""
        return self.rules.key

    def world_time(self, t: float) -> float:
        """The simulated moment shown at wall-clock time t."""
        return self.start + (t - self.start) * self.speed

    @staticmethod
    def start_showing(moment: float, speed: float, now: float) -> float:
        """The start at which a World of `speed` shows `moment` at wall-clock time `now` (a
        World of speed 1 can only show the present)."""
        if speed == 1.0:
            return now
        return (now * speed - moment) / (speed - 1.0)

    @staticmethod
    def start_at_time_of_day(seconds: float, speed: float, now: float) -> float:
        """The start at which a World of `speed` shows, at `now`, the first moment at or after
        it that is `seconds` past midnight UTC (an evening of games, whatever the hour)."""
        return World.start_showing(now + (seconds - now) % DAY, speed, now)

    def wall_time(self, moment: float) -> float:
        """The wall-clock time at which the World reaches a simulated moment."""
        return self.start + (moment - self.start) / self.speed

    def state_at(self, t: float) -> WorldState:
        """Every visible game, market and prop at wall-clock time t."""
        moment = self.world_time(_finite(t, "t"))
        games: list[GameView] = []
        markets: list[BookMarket] = []
        props: list[PropQuote] = []
        for season in self._seasons_at(moment):
            shown = np.flatnonzero((season.opens <= moment) & (moment <= season.ends + LINGER))
            if not shown.size:
                continue
            now = self._standing(season, shown, moment)
            games.extend(self._game_views(season, now))
            upcoming = shown[now.status == "scheduled"]
            markets.extend(self._pregame_markets(season, upcoming, moment))
            markets.extend(self._live_markets(season, now))
            if season.props is not None:
                props.extend(self._props(season, season.props, upcoming, moment))
        return WorldState(
            time=float(t), games=tuple(games), markets=tuple(markets), props=tuple(props)
        )

    def _seasons_at(self, moment: float) -> list[_Season]:
        with self._lock:
            while not self._spans or self._spans[-1].opens <= moment:
                if len(self._spans) >= MAX_WORLD_SEASONS:
                    raise InvalidSimulationError(f"the World ran past {MAX_WORLD_SEASONS} seasons")
                self._season(len(self._spans))
            return [
                self._season(index)
                for index, span in enumerate(self._spans)
                if span.opens <= moment <= span.ends + LINGER
            ]

    def _season(self, index: int) -> _Season:
        """Season `index`, built (again, identically) unless it is among the last few used."""
        season = self._built.pop(index, None) or self._build(index)
        self._built[index] = season
        while len(self._built) > _KEPT_SEASONS:
            self._built.popitem(last=False)
        if index == len(self._spans):
            span = _Span(season.day0, float(season.opens.min()), float(season.ends.max()))
            self._spans.append(span)
        return season

    def _build(self, index: int) -> _Season:
        if index < len(self._spans):
            day0 = self._spans[index].day0
        elif index == 0:
            yesterday = math.floor(self.start / DAY) * DAY - DAY
            day0 = _previous_weekday(yesterday, self.rules.season_weekday)
        else:
            day0 = (math.floor(self._spans[-1].ends / DAY) + 1 + _SEASON_GAP_DAYS) * DAY
        strengths = season_strengths(self.seed, self.sport, index + 1, len(team_names(self.sport)))
        league = simulate_season(
            self.sport, seed=self.seed, season=index, day0=day0, strengths=strengths[index]
        )
        props = price_props(league) if league.players is not None else None
        board, noise = price_league(league), live_noise(league)
        return _Season(index, day0, league, board, noise, props, league.end_time)

    def _standing(self, season: _Season, shown: IntArray, moment: float) -> _Standing:
        """Where the shown games of a season stand at a world moment."""
        league = season.league
        start = league.schedule.start[shown]
        elapsed = self.rules.clock_at(np.maximum(moment - start, 0.0))
        clock = np.minimum(elapsed, league.results.duration[shown])
        home, away = league.results.score_at(shown, clock)
        final = moment >= season.ends[shown]
        probs = league.games.outcome_probs(shown, clock, home, away)
        certain = np.eye(probs.shape[1])[league.outcome()[shown]]
        status = np.where(final, "final", np.where(moment >= start, "in_progress", "scheduled"))
        return _Standing(
            game=shown,
            clock=clock,
            home=home,
            away=away,
            probs=np.where(final[:, None], certain, probs),
            status=status,
        )

    def _game_views(self, season: _Season, now: _Standing) -> list[GameView]:
        league = season.league
        period, left = self.rules.period_clock(now.clock)
        views = []
        for row, game in enumerate(now.game.tolist()):
            status = cast(GameStatus, str(now.status[row]))
            scheduled = status == "scheduled"
            views.append(
                GameView(
                    event_id=_event_id(self.sport, season.index, game),
                    sport=self.sport,
                    home_team=league.teams[league.schedule.home[game]],
                    away_team=league.teams[league.schedule.away[game]],
                    commence_time=self.wall_time(float(league.schedule.start[game])),
                    status=status,
                    period=0 if scheduled else int(period[row]),
                    clock=self.rules.period_seconds if scheduled else float(left[row]),
                    seconds_remaining=float(max(self.rules.regulation - now.clock[row], 0.0)),
                    home_score=int(now.home[row]),
                    away_score=int(now.away[row]),
                    outcomes=league.games.outcomes,
                    true_probabilities=tuple(float(p) for p in now.probs[row]),
                )
            )
        return views

    def _pregame_markets(self, season: _Season, shown: IntArray, moment: float) -> list[BookMarket]:
        league, board = season.league, season.board
        snapshot = (board.times[shown] <= moment).sum(axis=1) - 1
        out = []
        for game, k in zip(shown.tolist(), snapshot.tolist(), strict=True):
            home, away = _team_names(league, game)
            spread, total = float(board.spreads.point[game, k]), float(board.totals.point[game, k])
            sides: tuple[
                tuple[Market, MarketPrices, tuple[str, ...], tuple[float | None, ...]], ...
            ] = (
                ("h2h", board.h2h, _h2h_names(league, home, away), (None, None, None)),
                ("spreads", board.spreads, (home, away), (spread, -spread)),
                ("totals", board.totals, ("Over", "Under"), (total, total)),
            )
            event = _event_id(self.sport, season.index, game)
            when = self.wall_time(float(board.times[game, k]))
            for b, book in enumerate(BOOKS):
                for market, prices, names, points in sides:
                    outcomes = tuple(
                        OutcomePrice(
                            name=name, price=float(prices.odds[game, k, b, i]), point=points[i]
                        )
                        for i, name in enumerate(names)
                    )
                    truth = tuple(float(p) for p in prices.true_p[game, k])
                    out.append(_book_market(event, book.key, market, outcomes, truth, when))
        return out

    def _live_markets(self, season: _Season, now: _Standing) -> list[BookMarket]:
        league = season.league
        live = now.status == "in_progress"
        game, clock, probs = now.game[live], now.clock[live], now.probs[live]
        step = step_of(league, clock)
        odds, _ = live_quotes(probs, season.noise.shared[game, step], season.noise.own[game, step])
        grid = self.rules.live_grid()
        out = []
        for row, index in enumerate(game.tolist()):
            names = _h2h_names(league, *_team_names(league, index))
            priced = league.schedule.start[index] + self.rules.wall_offset(grid[step[row]])
            event = _event_id(self.sport, season.index, index)
            truth = tuple(float(p) for p in probs[row])
            for b, book in enumerate(BOOKS):
                outcomes = tuple(
                    OutcomePrice(name=n, price=float(odds[row, b, i])) for i, n in enumerate(names)
                )
                when = self.wall_time(float(priced))
                out.append(_book_market(event, book.key, "h2h", outcomes, truth, when))
        return out

    def _props(
        self, season: _Season, board: PropBoard, shown: IntArray, moment: float
    ) -> list[PropQuote]:
        league = season.league
        names = player_names(self.seed)
        posted = (board.times[shown] <= moment).sum(axis=1) - 1
        out = []
        for game, k in zip(shown.tolist(), posted.tolist(), strict=True):
            if k < 0:
                continue
            teams = (int(league.schedule.home[game]), int(league.schedule.away[game]))
            when = self.wall_time(float(board.times[game, k]))
            for (side, role, stat), line in np.ndenumerate(board.line[game, k]):
                for b, book in enumerate(BOOKS):
                    over, under = board.odds[game, k, b, side, role, stat]
                    out.append(
                        PropQuote(
                            event_id=_event_id(self.sport, season.index, game),
                            book=book.key,
                            player=names[teams[side]][role],
                            team=league.teams[teams[side]],
                            stat=STATS[stat],
                            line=float(line),
                            over_price=float(over),
                            under_price=float(under),
                            true_over_probability=float(board.true_p[game, k, side, role, stat, 0]),
                            last_update=when,
                        )
                    )
        return out


def _event_id(sport: str, season: int, game: int) -> str:
    return f"sim-{sport}-{season:03d}-{game:04d}"


def _team_names(league: League, game: int) -> tuple[str, str]:
    return league.teams[league.schedule.home[game]], league.teams[league.schedule.away[game]]


def _h2h_names(league: League, home: str, away: str) -> tuple[str, ...]:
    return (home, "Draw", away) if len(league.games.outcomes) == 3 else (home, away)


def _book_market(
    event: str,
    book: str,
    market: Market,
    outcomes: tuple[OutcomePrice, ...],
    truth: tuple[float, ...],
    when: float,
) -> BookMarket:
    return BookMarket(
        event_id=event,
        book=book,
        market=market,
        outcomes=outcomes,
        true_probabilities=truth,
        last_update=when,
    )


def _previous_weekday(day: float, weekday: int) -> float:
    """The latest midnight at or before `day` falling on `weekday` (any day when it is -1)."""
    if weekday < 0:
        return day
    current = (int(day // DAY) + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    return day - ((current - weekday) % 7) * DAY


def _finite(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidSimulationError(f"{name} = {value!r} must be a finite number") from exc
    if not math.isfinite(number):
        raise InvalidSimulationError(f"{name} = {value!r} must be a finite number")
    return number
