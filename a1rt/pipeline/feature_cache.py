"""The feature cache actor: one merged view per event across every source, and a feature vector
for each model whenever an event's inputs change.

Matching: a provider's event joins an existing event of the same sport whose normalised home and
away teams agree and whose start is within MATCH_WINDOW; otherwise it starts a new event. Each
event keeps every source's latest GameState and, per book and market, the time-stamped odds path.
The merged game comes from the first source in priority order that is usable (breaker not open,
data fresh); when none is, the newest report wins. Events touched by a batch of messages are
recomputed once per batch (conflated per event) and their PredictRequests go to the predictor;
the predictions come back here, so `/api/v2/data/live-games` shows the latest.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from prometheus_client import Counter

from actors import Actor, Overflow

from ..logs import get_logger
from ..messages import (
    FeatureVector,
    GameState,
    OddsUpdate,
    Prediction,
    PredictRequest,
    PropLine,
    SourceMessage,
    utcnow,
)
from ..metrics import Metrics
from ..models import ModelError, ModelRegistry
from ..sources.provider import normalize_team
from .live_features import TeamForm, clipped_row, h2h_features, props_features, totals_features
from .source_status import SourceBoard

log = get_logger(__name__)

MATCH_WINDOW = timedelta(hours=6)
ODDS_PATH = 64  # time-stamped prices kept per book and market
FeedMessage = SourceMessage | Prediction
Builder = Callable[[GameState, dict[str, list[OddsUpdate]], TeamForm], dict[str, float] | None]
BUILDERS: dict[str, Builder] = {"h2h": h2h_features, "totals": totals_features}


@dataclass(slots=True)
class LiveEvent:
    """One game as every source sees it."""

    event_id: str
    sport: str
    home_team: str
    away_team: str
    commence_time: datetime
    aliases: set[str] = field(default_factory=set)
    games: dict[str, GameState] = field(default_factory=dict)  # source -> latest
    odds: dict[tuple[str, str], deque[OddsUpdate]] = field(default_factory=dict)
    props: dict[tuple[str, str, str], PropLine] = field(default_factory=dict)
    predictions: dict[str, Prediction] = field(default_factory=dict)  # model -> latest
    features: dict[str, FeatureVector] = field(default_factory=dict)
    updated_at: datetime = field(default_factory=utcnow)
    settled: bool = False

    def latest_odds(self) -> dict[str, list[OddsUpdate]]:
        """Each book's newest prices, by market."""
        by_market: dict[str, list[OddsUpdate]] = {}
        for (_, market), path in self.odds.items():
            by_market.setdefault(market, []).append(path[-1])
        return by_market


def _prop_groups(event: LiveEvent) -> dict[str, list[PropLine]]:
    """The event's prop lines by "player:stat", across books and sources."""
    groups: dict[str, list[PropLine]] = {}
    for line in event.props.values():
        groups.setdefault(f"{line.player}:{line.stat}", []).append(line)
    return groups


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize_team(text)).strip("-")


def _key(message: FeedMessage) -> tuple[Any, ...]:
    """What conflates in the mailbox: the latest of each of these wins."""
    if isinstance(message, GameState):
        return ("game", message.event_id, message.source)
    if isinstance(message, OddsUpdate):
        return ("odds", message.event_id, message.book, message.market)
    if isinstance(message, PropLine):
        return (
            "prop",
            message.event_id,
            message.player,
            message.stat,
            message.book,
            message.source,
        )
    return ("prediction", message.event_id, message.model, message.prediction_id)


class FeatureCache(Actor[FeedMessage, None]):
    """Merges the sources per event and feeds the predictor."""

    def __init__(
        self,
        registry: ModelRegistry,
        board: SourceBoard,
        metrics: Metrics,
        predict: Callable[[PredictRequest], Awaitable[None]],
        *,
        store: Callable[[OddsUpdate | FeatureVector], None] | None = None,
        on_final: Callable[[GameState], None] | None = None,
        publish: Callable[[object], object] | None = None,  # its result is ignored
        capacity: int = 20_000,
    ) -> None:
        super().__init__(
            "feature-cache", capacity=capacity, overflow=Overflow.CONFLATE, key=_key, batch=256
        )
        self.registry = registry
        self.board = board
        self._predict = predict
        self._store = store  # odds snapshots and feature vectors, under the event's id
        self._on_final = on_final  # each game's final score, once, under the event's id
        self._publish = publish  # every game, odds and prop applied, under the event's id
        self.events: dict[str, LiveEvent] = {}
        self._aliases: dict[str, str] = {}  # provider event id -> event id
        self._by_teams: dict[tuple[str, str, str], list[str]] = {}
        self._form: dict[str, TeamForm] = {}
        self._vectors = Counter(
            "a1rt_feature_vectors", "Feature vectors computed and sent to the predictor",
            ["model"], registry=metrics.registry,
        )  # fmt: skip

    # --- reading -------------------------------------------------------------------------

    def find(self, event_id: str) -> LiveEvent | None:
        """An event by its id or by any provider's id for it."""
        return self.events.get(self._aliases.get(event_id, event_id))

    def merged_game(self, event: LiveEvent) -> GameState | None:
        """The game as the most trusted usable source reports it."""
        for source in self.board.order:
            game = event.games.get(source)
            if game is not None and self.board.usable(source, event.sport):
                return game
        if not event.games:
            return None
        return max(event.games.values(), key=lambda g: g.received_at)

    def form(self, sport: str) -> TeamForm:
        found = self._form.get(sport)
        if found is None:
            found = self._form[sport] = TeamForm(sport)
        return found

    # --- handling ------------------------------------------------------------------------

    async def handle_batch(self, messages: list[FeedMessage]) -> list[None]:
        dirty: dict[str, LiveEvent] = {}
        for message in messages:
            event = self._apply(message)
            if event is not None and not isinstance(message, Prediction):
                dirty[event.event_id] = event
        for event in dirty.values():
            await self._recompute(event)
        return [None] * len(messages)

    def _apply(self, message: FeedMessage) -> LiveEvent | None:
        if isinstance(message, Prediction):
            event = self.find(message.event_id or "")
            if event is not None:
                key = (
                    message.model
                    if message.subject is None
                    else (f"{message.model}:{message.subject}")
                )
                event.predictions[key] = message
            return event
        if isinstance(message, PropLine):
            event = self.find(message.event_id) or self._event_for_team(message)
            if event is not None:
                event.props[(message.player, message.stat, message.book or message.source)] = (
                    message
                )
                event.updated_at = message.received_at
                self._emit(message, event)
            return event
        event = self._match(message)
        if isinstance(message, GameState):
            event.games[message.source] = message
            self._emit(message, event)
        else:
            path = event.odds.setdefault((message.book, message.market), deque(maxlen=ODDS_PATH))
            path.append(message)
            self._emit(message, event)
            if self._store is not None:
                self._store(msgspec.structs.replace(message, event_id=event.event_id))
        event.updated_at = message.received_at
        return event

    def _emit(self, message: SourceMessage, event: LiveEvent) -> None:
        """Hand an applied message to the publisher, re-keyed to the event (never waits)."""
        if self._publish is not None:
            self._publish(msgspec.structs.replace(message, event_id=event.event_id))

    def _match(self, message: GameState | OddsUpdate) -> LiveEvent:
        known = self.find(message.event_id)
        if known is not None:
            return known
        teams = (
            message.sport,
            normalize_team(message.home_team),
            normalize_team(message.away_team),
        )
        for candidate in self._by_teams.get(teams, []):
            event = self.events[candidate]
            if abs(event.commence_time - message.commence_time) <= MATCH_WINDOW:
                event.aliases.add(message.event_id)
                self._aliases[message.event_id] = event.event_id
                return event
        event_id = "-".join(
            (
                message.sport,
                message.commence_time.strftime("%Y%m%d%H%M"),
                _slug(message.home_team),
                _slug(message.away_team),
            )
        )
        event = LiveEvent(
            event_id=event_id,
            sport=message.sport,
            home_team=message.home_team,
            away_team=message.away_team,
            commence_time=message.commence_time,
            aliases={message.event_id},
        )
        self.events[event_id] = event
        self._aliases[message.event_id] = event_id
        self._by_teams.setdefault(teams, []).append(event_id)
        return event

    def _event_for_team(self, prop: PropLine) -> LiveEvent | None:
        """A prop whose provider id no game source knows: the team's next unfinished game."""
        team = normalize_team(prop.team)
        candidates = [
            e
            for e in self.events.values()
            if e.sport == prop.sport
            and team in (normalize_team(e.home_team), normalize_team(e.away_team))
            and not e.settled
        ]
        if not candidates:
            return None
        event = min(candidates, key=lambda e: e.commence_time)
        event.aliases.add(prop.event_id)
        self._aliases[prop.event_id] = event.event_id
        return event

    async def _recompute(self, event: LiveEvent) -> None:
        game = self.merged_game(event)
        if game is None:
            return
        form = self.form(event.sport)
        if game.status == "final" and not event.settled:
            event.settled = True
            form.record_final(game)
            if self._on_final is not None:
                self._on_final(msgspec.structs.replace(game, event_id=event.event_id))
            return
        if game.status not in ("scheduled", "in_progress"):
            return
        odds = event.latest_odds()
        for market, build in BUILDERS.items():
            name = f"{event.sport}_{market}"
            if name not in self.registry.names():
                continue
            features = build(game, odds, form)
            if features is None:
                continue
            await self._send(event, name, features)
        props = f"{event.sport}_props"
        if props in self.registry.names():
            for subject, lines in _prop_groups(event).items():
                features = props_features(game, odds, form, lines)
                if features is not None:
                    await self._send(event, props, features, subject)

    async def _send(
        self, event: LiveEvent, name: str, features: dict[str, float], subject: str | None = None
    ) -> None:
        try:
            specs = self.registry.get(name).manifest.features
        except ModelError:
            return
        vector = FeatureVector(
            event_id=event.event_id, sport=event.sport, model=name, features=features,
            computed_at=utcnow(),
        )  # fmt: skip
        key = name if subject is None else f"{name}:{subject}"
        previous = event.features.get(key)
        if previous is not None and previous.features == features:
            return
        event.features[key] = vector
        if self._store is not None:
            self._store(vector)
        self._vectors.labels(name).inc()
        row = clipped_row(specs, features)
        await self._predict(
            PredictRequest(model=name, row=row, event_id=event.event_id, subject=subject)
        )
