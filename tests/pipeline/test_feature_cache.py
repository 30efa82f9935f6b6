"""The feature cache: cross-provider matching, failover, features and predictions per event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from a1rt.messages import GameState, OddsUpdate, OutcomePrice, Prediction, PredictRequest, PropLine
from a1rt.metrics import Metrics
from a1rt.models import ModelRegistry
from a1rt.pipeline.feature_cache import FeatureCache
from a1rt.pipeline.live_features import TeamForm, consensus
from a1rt.pipeline.source_status import SourceBoard

COMPILED_MODELS = Path(__file__).resolve().parents[2] / "compiled_models"
START = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    registry = ModelRegistry(COMPILED_MODELS, tmp_path_factory.mktemp("build"), backend="gtil")
    registry.load_all()
    return registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def game(source: str, event_id: str, home: str, away: str, **kw: object) -> GameState:
    fields: dict[str, object] = {
        "sport": "basketball_nba", "commence_time": START, "status": "scheduled",
        "source": source, "received_at": NOW,
    }  # fmt: skip
    fields.update(kw)
    return GameState(event_id=event_id, home_team=home, away_team=away, **fields)  # type: ignore[arg-type]


def h2h(source: str, event_id: str, book: str, home: str, away: str, prices: tuple[float, float],
        **kw: object) -> OddsUpdate:  # fmt: skip
    return OddsUpdate(
        event_id=event_id, sport="basketball_nba", home_team=home, away_team=away,
        commence_time=kw.pop("commence_time", START), book=book, market="h2h",  # type: ignore[arg-type]
        outcomes=(OutcomePrice(name=home, price=prices[0]),
                  OutcomePrice(name=away, price=prices[1])),
        source=source, received_at=NOW,
    )  # fmt: skip


class Harness:
    def __init__(self, registry: ModelRegistry, sources: tuple[str, ...]) -> None:
        self.clock = Clock()
        self.board = SourceBoard(sources, Metrics(), max_age=60.0, clock=self.clock)
        self.sent: list[PredictRequest] = []
        self.stored: list[object] = []
        self.cache = FeatureCache(
            registry, self.board, Metrics(), predict=self._predict, store=self.stored.append
        )

    async def _predict(self, request: PredictRequest) -> None:
        self.sent.append(request)

    def fresh(self, *sources: str) -> None:
        for source in sources:
            self.board.succeeded(source, "basketball_nba", [game(source, "x", "a", "b")], None)

    async def feed(self, *messages: object) -> None:
        await self.cache.handle_batch(list(messages))  # type: ignore[arg-type]


async def test_one_game_seen_by_four_providers_is_one_event(registry: ModelRegistry) -> None:
    h = Harness(registry, ("odds_api", "sportradar", "espn", "prizepicks"))
    await h.feed(
        game("odds_api", "odds_api:e1", "Los Angeles Lakers", "Boston Celtics"),
        game(
            "sportradar",
            "sportradar:sr-9",
            "LA Lakers",
            "Boston Celtics",
            commence_time=START + timedelta(minutes=10),
        ),  # fmt: skip
        game("espn", "espn:401", "Los Angeles Lakers", "Boston Celtics"),
        PropLine(
            event_id="prizepicks:77",
            sport="basketball_nba",
            player="P One",
            team="Los Angeles Lakers",
            stat="points",
            line=24.5,
            source="prizepicks",
            received_at=NOW,
        ),  # fmt: skip
    )
    assert len(h.cache.events) == 1
    event = next(iter(h.cache.events.values()))
    assert event.aliases == {"odds_api:e1", "sportradar:sr-9", "espn:401", "prizepicks:77"}
    assert set(event.games) == {"odds_api", "sportradar", "espn"}
    assert len(event.props) == 1
    for alias in event.aliases:
        assert h.cache.find(alias) is event


async def test_a_rematch_days_later_is_another_event(registry: ModelRegistry) -> None:
    h = Harness(registry, ("odds_api",))
    later = START + timedelta(days=3)
    await h.feed(
        game("odds_api", "odds_api:e1", "Miami Heat", "Utah Jazz"),
        game("odds_api", "odds_api:e2", "Miami Heat", "Utah Jazz", commence_time=later),
    )
    assert len(h.cache.events) == 2


async def test_merged_game_fails_over_when_the_preferred_source_breaks(
    registry: ModelRegistry,
) -> None:
    h = Harness(registry, ("sportradar", "espn"))
    h.fresh("sportradar", "espn")
    await h.feed(
        game(
            "sportradar",
            "sportradar:1",
            "Miami Heat",
            "Utah Jazz",
            status="in_progress",
            home_score=10,
            away_score=8,
        ),  # fmt: skip
        game(
            "espn",
            "espn:1",
            "Miami Heat",
            "Utah Jazz",
            status="in_progress",
            home_score=12,
            away_score=8,
        ),  # fmt: skip
    )
    event = next(iter(h.cache.events.values()))
    assert h.cache.merged_game(event).source == "sportradar"  # type: ignore[union-attr]
    h.board.breaker("sportradar", "open")
    assert h.cache.merged_game(event).source == "espn"  # type: ignore[union-attr]
    h.board.breaker("sportradar", "closed")
    h.clock.now += 61  # both stale: the newest report wins
    h.board.succeeded("espn", "basketball_nba", [game("espn", "x", "a", "b")], None)
    assert h.cache.merged_game(event).source == "espn"  # type: ignore[union-attr]


async def test_priced_game_gets_an_h2h_vector_once_per_change(registry: ModelRegistry) -> None:
    h = Harness(registry, ("odds_api",))
    h.fresh("odds_api")
    teams = ("Miami Heat", "Utah Jazz")
    await h.feed(game("odds_api", "o:1", *teams))
    assert h.sent == []  # no market yet
    await h.feed(h2h("odds_api", "o:1", "pinnacle", *teams, (1.50, 2.70)),
                 h2h("odds_api", "o:1", "fanduel", *teams, (1.45, 2.75)))  # fmt: skip
    assert [r.model for r in h.sent] == ["basketball_nba_h2h"]
    event = next(iter(h.cache.events.values()))
    features = event.features["basketball_nba_h2h"].features
    assert features["market_home_p"] == pytest.approx(
        consensus([event.odds[("pinnacle", "h2h")][-1], event.odds[("fanduel", "h2h")][-1]], teams)[
            0
        ]  # fmt: skip
    )
    assert 0.6 < features["market_home_p"] < 0.7
    assert features["elo_diff"] == 0.0 and features["period"] == 0.0
    assert h.sent[0].event_id == event.event_id
    await h.feed(game("odds_api", "o:1", *teams))  # nothing changed: nothing sent
    assert len(h.sent) == 1
    stored_odds = [s for s in h.stored if isinstance(s, OddsUpdate)]
    assert len(stored_odds) == 2 and {s.event_id for s in stored_odds} == {event.event_id}
    prediction = Prediction(prediction_id="p1", model="basketball_nba_h2h", version="v",
                            probabilities={"home": 0.6, "away": 0.4}, confidence=0.9,
                            created_at=NOW, event_id=event.event_id)  # fmt: skip
    await h.feed(prediction)
    assert event.predictions["basketball_nba_h2h"] is prediction


async def test_a_final_score_updates_elo_for_the_next_game(registry: ModelRegistry) -> None:
    h = Harness(registry, ("odds_api",))
    h.fresh("odds_api")
    await h.feed(game("odds_api", "o:1", "Miami Heat", "Utah Jazz", status="final",
                      home_score=120, away_score=100))  # fmt: skip
    form: TeamForm = h.cache.form("basketball_nba")
    assert form.of("Miami Heat")[0] > 1500 > form.of("Utah Jazz")[0]
    later = START + timedelta(days=2)
    teams = ("Miami Heat", "Utah Jazz")
    await h.feed(
        game("odds_api", "o:2", *teams, commence_time=later),
        h2h("odds_api", "o:2", "pinnacle", *teams, (1.5, 2.7), commence_time=later),
    )
    features = h.cache.find("o:2").features["basketball_nba_h2h"].features  # type: ignore[union-attr]
    assert features["elo_diff"] > 0
    assert features["home_rest_days"] == 2.0


async def test_priced_prop_lines_get_a_props_vector_per_player_and_stat(
    registry: ModelRegistry,
) -> None:
    h = Harness(registry, ("simulated",))
    h.fresh("simulated")
    teams = ("Miami Heat", "Utah Jazz")
    totals = OddsUpdate(
        event_id="s:1", sport="basketball_nba", home_team=teams[0], away_team=teams[1],
        commence_time=START, book="pinnacle", market="totals", source="simulated",
        outcomes=(OutcomePrice(name="Over", price=1.91, point=221.5),
                  OutcomePrice(name="Under", price=1.91, point=221.5)),
        received_at=NOW,
    )  # fmt: skip

    def prop(book: str | None, over: float | None, under: float | None) -> PropLine:
        return PropLine(event_id="s:1", sport="basketball_nba", player="P One", team=teams[1],
                        stat="rebounds", line=8.5, source="simulated", received_at=NOW,
                        over_price=over, under_price=under, book=book)  # fmt: skip

    await h.feed(game("simulated", "s:1", *teams), totals, prop(None, None, None))
    assert [r.model for r in h.sent] == ["basketball_nba_totals"]  # the line has no prices
    await h.feed(prop("pinnacle", 1.80, 2.05), prop("fanduel", 1.85, 1.95))
    props = [r for r in h.sent if r.model == "basketball_nba_props"]
    assert [r.subject for r in props] == ["P One:rebounds"]
    event = h.cache.find("s:1")
    assert event is not None
    features = event.features["basketball_nba_props:P One:rebounds"].features
    assert features["stat_kind"] == 1.0 and features["is_home"] == 0.0
    assert features["line"] == features["player_avg"] == 8.5
    assert features["market_total"] == 221.5
    assert 0.5 < features["market_over_p"] < 0.56
