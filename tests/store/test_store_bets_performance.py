"""Performance in PostgreSQL: live predictions scored against results (the same numbers as
a1rt.models.scores), hourly `model_performance` rows, and ROI per currency with its
interval, computed by hand."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from a1rt.messages import FeatureVector, Prediction
from a1rt.models.scores import score
from a1rt.store import migrate
from a1rt.store.bets import insert_bet, settle_ready, store_result
from a1rt.store.performance import Z95, bet_returns, model_scores, record_model_performance

from .test_store_bets import store_odds
from .test_store_database import fresh_schema, query
from .test_store_settlement import KICKOFF, bet, final

HOUR = KICKOFF.replace(minute=0)
MADE = KICKOFF - timedelta(minutes=10)


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


def prediction(model: str, event_id: str, probabilities: dict[str, float], *,
               version: str = "v1", at: datetime = MADE) -> Prediction:  # fmt: skip
    return Prediction(prediction_id=str(uuid.uuid4()), model=model, version=version,
                      probabilities=probabilities, confidence=0.1, created_at=at,
                      event_id=event_id)  # fmt: skip


def features(event_id: str, total: float, at: datetime) -> FeatureVector:
    return FeatureVector(event_id=event_id, sport="basketball_nba", model="basketball_nba_totals",
                         features={"market_total": total}, computed_at=at)  # fmt: skip


SOCCER = [  # event, probabilities, (home, away)
    ("s1", {"home": 0.6, "draw": 0.25, "away": 0.15}, (2, 0)),
    ("s2", {"home": 0.5, "draw": 0.3, "away": 0.2}, (1, 1)),
    ("s3", {"home": 0.45, "draw": 0.2, "away": 0.35}, (0, 2)),
]


async def seeded(conninfo: str, tmp_path: Path) -> list[Any]:
    await migrate(conninfo)
    soccer = [prediction("soccer_epl_h2h", e, p) for e, p, _ in SOCCER]
    rows: list[Any] = [
        *soccer,
        prediction("soccer_epl_h2h", "s4", {"home": 0.4, "draw": 0.3, "away": 0.3}),  # no result
        prediction("basketball_nba_h2h", "b1", {"home": 0.55, "away": 0.45}, version="v2"),
        features("t1", 220.5, MADE - timedelta(minutes=1)),
        features("t1", 240.5, MADE + timedelta(minutes=1)),  # after the prediction: not used
        prediction("basketball_nba_totals", "t1", {"over": 0.7, "under": 0.3}),
        features("t2", 220.5, MADE - timedelta(minutes=1)),
        prediction("basketball_nba_totals", "t2", {"over": 0.4, "under": 0.6}),
        prediction("soccer_epl_h2h", "s1", {"home": 0.9, "draw": 0.05, "away": 0.05},
                   at=HOUR + timedelta(hours=1, minutes=5)),  # the next hour's window
    ]  # fmt: skip
    await store_odds(conninfo, tmp_path, rows)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for event_id, _, (home, away) in SOCCER:
            await store_result(conn, final(home, away, sport="soccer_epl", event_id=event_id))
        await store_result(conn, final(100, 100, event_id="b1"))  # a draw a 2-way cannot score
        await store_result(conn, final(120, 110, event_id="t1"))  # 230 > 220.5: over
        await store_result(conn, final(100, 100, event_id="t2"))  # 200 < 220.5: under
    return soccer


def _expected(probabilities: list[list[float]], outcomes: list[int]) -> Any:
    return score(np.array(probabilities, dtype=np.float64), np.array(outcomes, dtype=np.int64))


@pytest.mark.anyio
async def test_performance_scores_match_the_models_scores(conninfo: str, tmp_path: Path) -> None:
    await seeded(conninfo, tmp_path)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        found = await model_scores(conn, HOUR, HOUR + timedelta(hours=1))
    by_model = {(r["model"], r["version"]): r for r in found}
    assert set(by_model) == {("soccer_epl_h2h", "v1"), ("basketball_nba_h2h", "v2"),
                             ("basketball_nba_totals", "v1")}  # fmt: skip
    soccer = by_model["soccer_epl_h2h", "v1"]
    assert (soccer["predictions"], soccer["settled"]) == (4, 3)
    order = ("home", "draw", "away")
    want = _expected([[p[k] for k in order] for _, p, _ in SOCCER], [0, 1, 2])
    assert soccer["log_loss"] == pytest.approx(want.log_loss)
    assert soccer["log_loss"] == pytest.approx(
        -(math.log(0.6) + math.log(0.3) + math.log(0.35)) / 3
    )
    assert soccer["brier"] == pytest.approx(want.brier)
    assert soccer["accuracy"] == pytest.approx(1 / 3)
    assert soccer["calibration_error"] == pytest.approx(want.ece)
    nba = by_model["basketball_nba_h2h", "v2"]
    assert (nba["predictions"], nba["settled"], nba["log_loss"]) == (1, 0, None)
    totals = by_model["basketball_nba_totals", "v1"]
    want = _expected([[0.7, 0.3], [0.4, 0.6]], [0, 1])
    assert totals["settled"] == 2 and totals["accuracy"] == 1.0
    assert totals["log_loss"] == pytest.approx(want.log_loss)
    assert totals["brier"] == pytest.approx(want.brier)
    assert totals["calibration_error"] == pytest.approx(want.ece)


@pytest.mark.anyio
async def test_performance_hourly_rows_rewritten_as_results_arrive(
    conninfo: str, tmp_path: Path
) -> None:
    soccer = await seeded(conninfo, tmp_path)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        won = bet("h2h", "home", None, 2.0, "100", event_id="s1", placed_at=MADE)
        won = won.__class__(**{**{f: getattr(won, f) for f in won.__struct_fields__},
                               "prediction_id": soccer[0].prediction_id})  # fmt: skip
        await insert_bet(conn, won)
        await settle_ready(conn)
        end = HOUR + timedelta(hours=2, minutes=30)
        assert await record_model_performance(conn, HOUR - timedelta(hours=1), end) == 4
        await store_result(conn, final(0, 0, sport="soccer_epl", event_id="s4"))
        await record_model_performance(conn, HOUR - timedelta(hours=1), end)
    rows = query(
        conninfo,
        "SELECT model, version, window_start, window_end, predictions, settled, roi "
        "FROM model_performance ORDER BY window_start, model",
    )
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("basketball_nba_h2h", HOUR, HOUR + timedelta(hours=1), 1, 0),
        ("basketball_nba_totals", HOUR, HOUR + timedelta(hours=1), 2, 2),
        ("soccer_epl_h2h", HOUR, HOUR + timedelta(hours=1), 4, 4),  # s4's result came later
        ("soccer_epl_h2h", HOUR + timedelta(hours=1), HOUR + timedelta(hours=2), 1, 1),
    ]
    assert rows[2][6] == pytest.approx(1.0)  # the one bet on its prediction doubled
    assert rows[0][6] is None


@pytest.mark.anyio
async def test_performance_roi_per_currency_with_its_interval(conninfo: str) -> None:
    await migrate(conninfo)
    placed = [
        bet("h2h", "home", None, 2.0, "100", event_id="r1"),  # won: +100
        bet("h2h", "away", None, 2.0, "100", event_id="r1"),  # lost: -100
        bet("h2h", "home", None, 3.0, "50", event_id="r1"),  # won: +100
        bet("h2h", "home", None, 2.0, "70", event_id="r2"),  # void: left out
        bet("h2h", "home", None, 2.0, "80", event_id="r3"),  # pending
        bet("h2h", "home", None, 1.5, "10", event_id="r1", currency="EUR"),  # won: +5
    ]
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for each in placed:
            await insert_bet(conn, each)
        await store_result(conn, final(1, 0, event_id="r1"))
        await store_result(conn, final(0, 0, event_id="r2", status="cancelled"))
        assert await settle_ready(conn) == 5
        start = KICKOFF - timedelta(days=1)
        summaries = await bet_returns(conn, start, datetime.now(UTC) + timedelta(days=1))
        only_eur = await bet_returns(conn, start, KICKOFF, currency="EUR")
    eur, usd = summaries
    assert (usd["currency"], usd["bets"], usd["won"], usd["lost"]) == ("USD", 3, 2, 1)
    assert (usd["staked"], usd["returned"], usd["profit"]) == ("250.0000", "350.0000", "100.0000")
    assert (usd["pending"], usd["void"]) == (1, 1)
    assert usd["roi"] == pytest.approx(0.4)
    # residuals profit - roi * stake: 60, -140, 80; SE = sqrt(29600 / (3 * 2)) / (250 / 3)
    se = math.sqrt(29600 / 6) / (250 / 3)
    assert usd["roi_ci95"] == pytest.approx([0.4 - Z95 * se, 0.4 + Z95 * se])
    assert (eur["roi"], eur["roi_ci95"], eur["profit"]) == (0.5, None, "5.0000")
    assert [s["currency"] for s in only_eur] == ["EUR"]


def test_performance_interval_reduces_to_the_flat_stake_formula() -> None:
    from a1rt.store.performance import roi_summary

    profits = [1.0, -1.0, -1.0, 1.5, 0.0]  # flat 1-unit stakes
    n = len(profits)
    row = {"currency": "USD", "bets": n, "staked": Decimal(n), "returned": Decimal(n + 0.5),
           "profit": Decimal("0.5"), "profit_sq": sum(p * p for p in profits),
           "stake_sq": float(n), "cross_sum": sum(profits), "won": 2, "lost": 2, "pushed": 1,
           "with_clv": 0, "clv_price": None, "clv_probability": None, "clv_fair": None}  # fmt: skip
    summary = roi_summary(row)
    se = float(np.std(profits, ddof=1)) / math.sqrt(n)
    assert summary["roi"] == pytest.approx(0.1)
    assert summary["roi_ci95"] == pytest.approx([0.1 - Z95 * se, 0.1 + Z95 * se])
