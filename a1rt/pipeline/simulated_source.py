"""The default source: the league simulator as a live world in accelerated time, no network.

It lives in `pipeline/` rather than `sources/` because it reads `a1rt.models.simulation`, and
`sources` may not import `models` (see docs/architecture.md). Each poll reads the World at the
wall clock and reports all of it, as an HTTP provider would; the poller passes on what changed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import anyio.to_thread

from ..messages import GameState, OddsUpdate, PropLine, SourceMessage, utcnow
from ..models.simulation.views import BookMarket, GameView, PropQuote
from ..models.simulation.world import World
from ..sources import SourceClient
from ..sources.provider import SPORTS

NAME = "simulated"


class SimulatedSource:
    """A Provider reading one seeded World per sport; the same seed and start give the same
    games on every replica."""

    name = NAME

    def __init__(
        self,
        *,
        seed: int = 7,
        speed: float = 60.0,
        start: float | None = None,
        sports: tuple[str, ...] = SPORTS,
    ) -> None:
        self.sports = sports
        begin = time.time() if start is None else start
        self._worlds = {sport: World(seed, sport, begin, speed) for sport in sports}
        self._limiter: anyio.CapacityLimiter | None = None

    async def poll(self, client: SourceClient | None, sport: str) -> list[SourceMessage]:
        """Everything `sport`'s World shows now."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)  # one season build at a time
        world = self._worlds[sport]
        state = await anyio.to_thread.run_sync(world.state_at, time.time(), limiter=self._limiter)
        received = utcnow()
        games = {game.event_id: game for game in state.games}
        out: list[SourceMessage] = [game_state(game, received) for game in state.games]
        out.extend(
            odds_update(market, games[market.event_id], received)
            for market in state.markets
            if market.event_id in games
        )
        out.extend(prop_line(prop, sport, received) for prop in state.props)
        return out


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _clock(seconds: float) -> str:
    whole = max(0, int(round(seconds)))
    return f"{whole // 60}:{whole % 60:02d}"


def game_state(game: GameView, received: datetime) -> GameState:
    return GameState(
        event_id=f"{NAME}:{game.event_id}",
        sport=game.sport,
        home_team=game.home_team,
        away_team=game.away_team,
        commence_time=_when(game.commence_time),
        status=game.status,
        source=NAME,
        received_at=received,
        home_score=game.home_score,
        away_score=game.away_score,
        period=game.period,
        clock=_clock(game.clock) if game.status == "in_progress" else None,
        seconds_remaining=game.seconds_remaining,
    )


def odds_update(market: BookMarket, game: GameView, received: datetime) -> OddsUpdate:
    return OddsUpdate(
        event_id=f"{NAME}:{market.event_id}",
        sport=game.sport,
        home_team=game.home_team,
        away_team=game.away_team,
        commence_time=_when(game.commence_time),
        book=market.book,
        market=market.market,
        outcomes=market.outcomes,
        source=NAME,
        received_at=received,
        source_time=_when(market.last_update),
    )


def prop_line(prop: PropQuote, sport: str, received: datetime) -> PropLine:
    return PropLine(
        event_id=f"{NAME}:{prop.event_id}",
        sport=sport,
        player=prop.player,
        team=prop.team,
        stat=prop.stat,
        line=prop.line,
        source=NAME,
        received_at=received,
        over_price=prop.over_price,
        under_price=prop.under_price,
        source_time=_when(prop.last_update),
        book=prop.book,
    )
