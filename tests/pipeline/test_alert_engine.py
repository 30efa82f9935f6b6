"""The alert engine: opportunities deduplicated and closed, alerts raised once, held back by
the cooldown and resolved when their condition clears, all on a manual clock."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from prometheus_client import Histogram

from a1rt.config import Settings, load_settings
from a1rt.messages import GameState, OddsUpdate, OutcomePrice, Prediction
from a1rt.metrics import LATENCY_BUCKETS, Metrics
from a1rt.pipeline.alert_engine import AlertEngine, Tick
from a1rt.pipeline.source_status import SourceBoard
from a1rt.store import AlertRecord, OpportunityRecord
from actors import ActorState, ActorStats, ManualClock

HOME, AWAY = "Boston Celtics", "Los Angeles Lakers"
pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    engine: AlertEngine
    clock: ManualClock
    stored: list[Any] = field(default_factory=list)
    published: list[Any] = field(default_factory=list)

    def odds(
        self,
        book: str,
        home: float,
        away: float,
        *,
        event: str = "ev1",
        market: str = "h2h",
        points: tuple[float, float] | None = None,
    ) -> OddsUpdate:
        names = (HOME, AWAY) if market != "totals" else ("Over", "Under")
        pts = points or (None, None)
        return OddsUpdate(
            event_id=event, sport="basketball_nba", home_team=HOME, away_team=AWAY,
            commence_time=self.engine.wall() + timedelta(hours=3), book=book,
            market=market,  # type: ignore[arg-type]
            outcomes=(OutcomePrice(name=names[0], price=home, point=pts[0]),
                      OutcomePrice(name=names[1], price=away, point=pts[1])),
            source="test", received_at=self.engine.wall(),
        )  # fmt: skip

    def predict(self, home: float, *, event: str = "ev1") -> Prediction:
        return Prediction(
            prediction_id=f"p-{event}-{home}", model="basketball_nba_h2h", version="v1",
            probabilities={"home": home, "away": 1 - home}, confidence=0.9,
            created_at=self.engine.wall(), event_id=event,
        )  # fmt: skip

    def apply(self, *messages: Any) -> list[Any]:
        return self.engine.apply(messages)

    def tick(self, seconds: float = 0.0) -> list[Any]:
        self.clock.advance(seconds)
        return self.engine.apply([Tick()])


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": tmp_path, "alert_cooldown": 300.0, "steam_window": 300.0,
                            "stale_price_age": 60.0, "disk_min_free": 0.0}  # fmt: skip
    return load_settings({}, **{**base, **overrides})


def rig(tmp_path: Path, **kw: Any) -> Rig:
    clock = ManualClock(start=1000.0)
    overrides = {k: kw.pop(k) for k in list(kw) if k in Settings.__struct_fields__}
    holder = Rig(None, clock)  # type: ignore[arg-type]
    holder.engine = AlertEngine(
        settings(tmp_path, **overrides), clock=clock, check_interval=0,
        store=holder.stored.append, publish=holder.published.append, **kw,
    )  # fmt: skip
    return holder


def opportunities(records: list[Any]) -> list[OpportunityRecord]:
    return [r for r in records if isinstance(r, OpportunityRecord)]


def alerts(records: list[Any]) -> list[AlertRecord]:
    return [r for r in records if isinstance(r, AlertRecord)]


# --- opportunities ---------------------------------------------------------------------------


async def test_a_planted_arbitrage_is_published_stored_once_and_closed_when_it_goes(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    out = r.apply(r.odds("book_a", 2.10, 1.80), r.odds("book_b", 1.85, 2.15))
    (arb,) = opportunities(out)
    assert arb.kind == "arbitrage" and arb.event_id == "ev1" and arb.sport == "basketball_nba"
    booksum = 1 / 2.10 + 1 / 2.15
    assert arb.edge == pytest.approx(1 / booksum - 1)
    legs = arb.details["legs"]
    assert [(leg["book"], leg["price"]) for leg in legs] == [("book_a", 2.10), ("book_b", 2.15)]
    payouts = [leg["stake"] * leg["price"] for leg in legs]
    assert payouts[0] == pytest.approx(payouts[1]) == pytest.approx(1 / booksum)
    assert r.stored == [arb] and r.published == [arb]

    r.clock.advance(5)
    assert r.apply(r.odds("book_a", 2.10, 1.80), r.odds("book_b", 1.85, 2.15)) == []  # dedup
    assert r.engine.opportunities() == [arb]

    (better,) = r.apply(r.odds("book_b", 1.85, 2.30))  # the bet itself changed
    assert better.opportunity_id != arb.opportunity_id
    assert better.details["supersedes"] == arb.opportunity_id
    assert better.edge == pytest.approx(1 / (1 / 2.10 + 1 / 2.30) - 1)

    assert r.apply(r.odds("book_b", 1.85, 1.80)) == []  # sum 1/D back above 1
    assert r.engine.opportunities() == []
    closed = r.published[-1]
    assert closed["status"] == "closed" and closed["opportunity_id"] == better.opportunity_id
    assert len(r.stored) == 2  # closures are published, not stored


async def test_value_bet_from_a_prediction_against_the_best_price(tmp_path: Path) -> None:
    r = rig(tmp_path, kelly_fraction=0.5, value_min_edge=0.02)
    r.apply(r.odds("book_a", 1.95, 1.95), r.odds("book_b", 2.05, 1.80))
    (bet,) = opportunities(r.apply(r.predict(0.56)))
    assert (bet.kind, bet.book, bet.price, bet.outcome) == ("value", "book_b", 2.05, HOME)
    assert bet.edge == pytest.approx(0.56 * 2.05 - 1)  # EV per unit staked
    assert bet.fair_probability == 0.56 and bet.prediction_id == "p-ev1-0.56"
    assert bet.details["kelly"] == pytest.approx(0.5 * (0.56 * 2.05 - 1) / 1.05)
    assert bet.details["probability_edge"] == pytest.approx(0.56 - 1 / 2.05)

    assert r.apply(r.predict(0.562)) == []  # same bet, EV moved less than a point
    (moved,) = r.apply(r.predict(0.60))
    assert moved.edge == pytest.approx(0.60 * 2.05 - 1)


async def test_a_value_bet_closes_when_its_price_goes_stale(tmp_path: Path) -> None:
    r = rig(tmp_path, stale_price_age=60.0)
    r.apply(r.odds("book_b", 2.05, 1.80))
    (bet,) = r.apply(r.predict(0.56))
    assert r.tick(30.0) == []
    assert r.engine.opportunities() == [bet]
    r.tick(31.0)  # 61 s since book_b was last seen
    assert r.engine.opportunities() == []
    assert r.published[-1] == {**r.published[-1], "status": "closed",
                               "opportunity_id": bet.opportunity_id}  # fmt: skip


async def test_middles_come_out_of_the_engine_with_ev_per_unit_staked(tmp_path: Path) -> None:
    r = rig(tmp_path)
    out = r.apply(
        r.odds("a", 1.95, 1.87, market="totals", points=(215.5, 215.5)),
        r.odds("b", 1.87, 1.95, market="totals", points=(224.5, 224.5)),
    )
    (mid,) = opportunities(out)
    assert mid.kind == "middle" and mid.market == "totals"
    assert mid.details["window"] == [215.5, 224.5]
    assert mid.edge == pytest.approx(mid.details["ev_per_pair"] / 2)


async def test_a_final_forgets_the_event_and_closes_what_it_had(tmp_path: Path) -> None:
    r = rig(tmp_path)
    (arb,) = r.apply(r.odds("book_a", 2.10, 1.80), r.odds("book_b", 1.85, 2.15))
    final = GameState(event_id="ev1", sport="basketball_nba", home_team=HOME, away_team=AWAY,
                      commence_time=r.engine.wall(), status="final", source="test",
                      received_at=r.engine.wall(), home_score=100, away_score=90)  # fmt: skip
    r.apply(final)
    assert r.engine.opportunities() == [] and "ev1" not in r.engine.events
    assert r.published[-1]["opportunity_id"] == arb.opportunity_id


# --- alerts: dedup, cooldown, resolution -----------------------------------------------------


async def test_breaker_alert_dedups_resolves_and_respects_the_cooldown(tmp_path: Path) -> None:
    board = SourceBoard(("odds_api",), Metrics())
    r = rig(tmp_path, board=board, alert_cooldown=300.0)
    assert r.tick() == []

    board.breaker("odds_api", "open")
    (raised,) = r.tick(5)
    assert (raised.kind, raised.severity, raised.details["state"]) == (
        "source_breaker_open", "critical", "active")  # fmt: skip
    assert r.tick(5) == [] and r.tick(5) == []  # still open: deduplicated
    (alert,) = r.engine.alerts()
    assert alert.status == "active" and alert.occurrences == 3
    assert r.engine.book.deduplicated == 2

    board.breaker("odds_api", "closed")
    (resolved,) = r.tick(5)
    assert resolved.details == {**resolved.details, "state": "resolved",
                                "resolves": raised.alert_id}  # fmt: skip
    assert resolved.alert_id != raised.alert_id
    assert alert.status == "resolved" and alert.resolved_at == resolved.raised_at
    assert resolved.details["active_seconds"] == pytest.approx(15.0)

    board.breaker("odds_api", "open")  # 20 s after it was raised: cooling down
    assert r.tick(5) == []
    assert r.engine.book.suppressed == 1
    assert r.tick(270) == []  # 295 s
    (again,) = r.tick(10)  # 305 s since the first raise, still open
    assert again.kind == "source_breaker_open" and again.alert_id != raised.alert_id
    assert r.stored == r.published == [raised, resolved, again]


async def test_data_lag_over_its_threshold_warns_until_it_recovers(tmp_path: Path) -> None:
    board = SourceBoard(("espn",), Metrics())
    r = rig(tmp_path, board=board, alert_max_lag=30.0)
    board.get("espn").lag_seconds = 45.0
    (lag,) = r.tick(1)
    assert (lag.kind, lag.severity) == ("data_lag", "warning")
    assert lag.details["lag_seconds"] == 45.0
    board.get("espn").lag_seconds = 2.0
    (done,) = r.tick(1)
    assert done.details["resolves"] == lag.alert_id


def _stats(name: str, restarts: int) -> ActorStats:
    return ActorStats(name=name, state=ActorState.RUNNING, overflow="block", capacity=10,
                      depth=0, handled=0, failed=0, dropped=0, refused=0, dead_letters=0,
                      restarts=restarts, handler_seconds=0.0)  # fmt: skip


async def test_an_actor_restarting_too_fast_warns_then_escalates(tmp_path: Path) -> None:
    counts = {"predictor": 0}
    r = rig(tmp_path, actor_stats=lambda: [_stats(n, c) for n, c in counts.items()],
            alert_restart_limit=2, alert_restart_window=60.0, alert_cooldown=0.0)  # fmt: skip
    r.tick()
    counts["predictor"] = 2
    assert r.tick(10) == []  # 2 in 60 s: at the limit
    counts["predictor"] = 3
    (warning,) = r.tick(10)
    assert (warning.kind, warning.severity, warning.details["restarts"]) == (
        "actor_restarts", "warning", 3)  # fmt: skip
    counts["predictor"] = 5
    (critical,) = r.tick(10)  # more than twice the limit: raised again, higher
    assert critical.severity == "critical"
    assert critical.details["supersedes"] == warning.alert_id
    assert [a.record.severity for a in r.engine.book.active.values()] == ["critical"]
    (resolved,) = r.tick(61)  # no restart in the last 60 s
    assert resolved.details["resolves"] == critical.alert_id


async def test_a_follower_tracks_alerts_but_does_not_announce_them(tmp_path: Path) -> None:
    metrics = Metrics()
    counts = {"predictor": 0}
    leading = {"now": False}
    r = rig(tmp_path, actor_stats=lambda: [_stats(n, c) for n, c in counts.items()],
            alert_restart_limit=2, alert_restart_window=60.0, alert_cooldown=0.0,
            metrics=metrics, leading=lambda: leading["now"])  # fmt: skip
    r.tick()
    counts["predictor"] = 3
    r.tick(10)
    assert len(r.engine.book.active) == 1  # tracked, so a takeover starts from the truth
    raised = metrics.registry.get_sample_value
    labels = {"kind": "actor_restarts", "severity": "warning"}
    assert raised("a1rt_alerts_total", labels) in (None, 0.0)
    leading["now"] = True
    counts["predictor"] = 5
    r.tick(10)
    assert raised("a1rt_alerts_total", {**labels, "severity": "critical"}) == 1.0


class _Registry:
    """What the engine reads of a model registry: the manifest's evaluation."""

    def __init__(self, log_loss: float) -> None:
        self.log_loss = log_loss

    def get(self, name: str) -> Any:
        manifest = type("M", (), {"evaluation": {"log_loss": self.log_loss}})()
        return type("L", (), {"manifest": manifest})()


async def test_model_drift_compares_live_log_loss_with_the_evaluation(tmp_path: Path) -> None:
    r = rig(tmp_path, models=_Registry(0.60), drift_min_samples=10, drift_tolerance=0.15)

    def play(n: int, p_home: float, home_wins: bool) -> None:
        for i in range(n):
            event = f"g{p_home}-{i}"
            r.apply(r.odds("book_a", 1.9, 1.9, event=event), r.predict(p_home, event=event))
            r.apply(GameState(
                event_id=event, sport="basketball_nba", home_team=HOME, away_team=AWAY,
                commence_time=r.engine.wall(), status="final", source="test",
                received_at=r.engine.wall(), home_score=100 if home_wins else 90,
                away_score=95,
            ))  # fmt: skip

    play(10, 0.6, True)  # log loss -ln 0.6 = 0.51, under the evaluation's 0.60
    assert r.engine.drift.live_log_loss("basketball_nba_h2h") == pytest.approx(-math.log(0.6))
    assert alerts(r.tick(1)) == []
    play(10, 0.6, False)  # half now lose: mean (-ln 0.6 - ln 0.4)/2 = 0.71, 18% over
    (drift,) = r.tick(1)
    assert (drift.kind, drift.severity) == ("model_drift", "warning")
    expected = (-math.log(0.6) - math.log(0.4)) / 2
    assert drift.details["live_log_loss"] == pytest.approx(expected)
    assert drift.details["evaluation_log_loss"] == 0.60 and drift.details["samples"] == 20


async def test_prediction_latency_p99_over_target(tmp_path: Path) -> None:
    metrics = Metrics()
    inference = Histogram("a1rt_inference_seconds", "t", ["model"], buckets=LATENCY_BUCKETS,
                          registry=metrics.registry)  # fmt: skip
    r = rig(tmp_path, metrics=metrics, latency_p99_target=0.01)
    for _ in range(50):
        inference.labels("m").observe(0.003)
    assert r.tick(1) == []
    for _ in range(50):
        inference.labels("m").observe(0.04)  # the p99 lands in the (0.025, 0.05] bucket
    (slow,) = r.tick(1)
    assert (slow.kind, slow.severity) == ("prediction_latency", "critical")
    assert 0.025 < slow.details["p99_seconds"] <= 0.05
    for _ in range(5000):
        inference.labels("m").observe(0.003)
    (resolved,) = r.tick(120)  # the slow calls left the 60 s window
    assert resolved.details["resolves"] == slow.alert_id


async def test_steam_at_the_sharp_book_is_an_alert_that_resolves_after_the_window(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path, sharp_book="pinnacle", steam_threshold=0.03, steam_window=300.0)
    assert r.apply(r.odds("pinnacle", 2.00, 2.00)) == []
    r.clock.advance(60)
    assert r.apply(r.odds("book_a", 1.75, 1.95)) == []  # not the sharp book
    r.clock.advance(60)
    raised = alerts(r.apply(r.odds("pinnacle", 1.80, 2.15)))
    assert {a.kind for a in raised} == {"steam"} and len(raised) == 2  # both sides moved
    home = next(a for a in raised if a.details["outcome"] == HOME)
    assert home.event_id == "ev1" and home.severity == "info"
    assert home.details["move"] == pytest.approx((1 / 1.8) / (1 / 1.8 + 1 / 2.15) - 0.5)
    r.clock.advance(30)
    assert alerts(r.apply(r.odds("pinnacle", 1.80, 2.15))) == []  # still the same move
    assert r.tick(100) == []  # inside the window
    resolved = r.tick(200)
    assert {a.details["resolves"] for a in resolved} == {a.alert_id for a in raised}


async def test_the_running_actor_ticks_and_hands_records_over(tmp_path: Path) -> None:
    board = SourceBoard(("odds_api",), Metrics())
    stored: list[Any] = []
    engine = AlertEngine(settings(tmp_path), board=board, store=stored.append,
                         check_interval=0.02)  # fmt: skip
    board.breaker("odds_api", "open")
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        with anyio.fail_after(10):
            while not stored:
                await anyio.sleep(0.01)
        engine.offer(Tick())
        engine.request_stop()
    (alert,) = stored
    assert alert.kind == "source_breaker_open"
    assert engine.stats().handled >= 1 and engine.stats().refused == 0


async def test_a_tick_in_the_actor_gives_the_loop_back_and_closes_as_apply_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def planted() -> Rig:
        r = rig(tmp_path, stale_price_age=60.0)
        for i in range(20):
            r.apply(r.odds("book_a", 2.10, 1.80, event=f"ev{i}"),
                    r.odds("book_b", 1.85, 2.15, event=f"ev{i}"))  # fmt: skip
        r.clock.advance(61)  # every price stale: the tick closes all twenty
        return r

    monkeypatch.setattr("a1rt.pipeline.alert_engine.CHECK_SLICE_S", 0.0)
    in_slices, at_once = planted(), planted()
    others_ran = 0

    async def other_task() -> None:
        nonlocal others_ran
        while True:
            others_ran += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(other_task)
        await anyio.lowlevel.checkpoint()
        before = others_ran
        await in_slices.engine.handle_batch([Tick()])
        during = others_ran - before
        tg.cancel_scope.cancel()
    at_once.tick()
    assert during >= 20  # the loop ran others between the twenty markets' evaluations
    closed = [p["opportunity_id"] for p in in_slices.published if isinstance(p, dict)]
    assert len(closed) == 20 and in_slices.engine.opportunities() == []
    assert len(at_once.published) == len(in_slices.published) and not at_once.engine.opportunities()
