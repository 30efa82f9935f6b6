"""`GET /api/v2/opportunities` and `GET /api/v2/alerts`: what the alert engine holds, filtered;
a bad filter is a 422 problem naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from a1rt.config import load_settings
from a1rt.messages import OddsUpdate, OutcomePrice, Prediction
from a1rt.pipeline import Runtime
from a1rt.pipeline.alert_engine import Tick
from a1rt.web import create_app

pytestmark = pytest.mark.anyio


def _odds(runtime: Runtime, event: str, sport: str, book: str, home: float, away: float
          ) -> OddsUpdate:  # fmt: skip
    wall = runtime.alert_engine.wall()
    return OddsUpdate(
        event_id=event, sport=sport, home_team="Home FC", away_team="Away FC",
        commence_time=wall + timedelta(hours=2), book=book, market="h2h",
        outcomes=(OutcomePrice(name="Home FC", price=home),
                  OutcomePrice(name="Away FC", price=away)),
        source="test", received_at=wall,
    )  # fmt: skip


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = load_settings({}, models_dir=tmp_path / "models", data_dir=tmp_path / "data",
                             sources=("espn",), disk_min_free=0.0)  # fmt: skip
    runtime = Runtime(settings, live=False)
    engine = runtime.alert_engine
    engine.apply([
        # an NBA arbitrage (edge 1/(1/2.1 + 1/2.15) - 1 = 6.2%)
        _odds(runtime, "nba1", "basketball_nba", "a", 2.10, 1.80),
        _odds(runtime, "nba1", "basketball_nba", "b", 1.85, 2.15),
        # an NFL value bet (EV 0.6 * 1.95 - 1 = 17%) and no arbitrage
        _odds(runtime, "nfl1", "americanfootball_nfl", "a", 1.95, 1.90),
        Prediction(prediction_id="p", model="americanfootball_nfl_h2h", version="v",
                   probabilities={"home": 0.6, "away": 0.4}, confidence=1.0,
                   created_at=engine.wall(), event_id="nfl1"),
    ])  # fmt: skip
    runtime.board.breaker("espn", "open")
    runtime.board.get("espn").lag_seconds = 500.0
    engine.apply([Tick()])
    runtime.board.breaker("espn", "closed")
    engine.apply([Tick()])
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
        yield client, runtime


async def test_opportunities_are_listed_best_edge_first(served: tuple[httpx.AsyncClient, Runtime]
                                                        ) -> None:  # fmt: skip
    client, _ = served
    response = await client.get("/api/v2/opportunities")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2
    kinds = [(o["kind"], o["event_id"]) for o in body["opportunities"]]
    assert kinds == [("value", "nfl1"), ("arbitrage", "nba1")]
    value, arb = body["opportunities"]
    assert value["edge"] == pytest.approx(0.6 * 1.95 - 1)
    assert value["book"] == "a" and value["price"] == 1.95 and value["outcome"] == "Home FC"
    assert arb["edge"] == pytest.approx(1 / (1 / 2.10 + 1 / 2.15) - 1)
    assert "type" not in arb


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sport=basketball_nba", ["nba1"]),
        ("kind=value", ["nfl1"]),
        ("kind=middle", []),
        ("min_edge=0.1", ["nfl1"]),
        ("min_edge=0.5", []),
        ("sport=americanfootball_nfl&kind=arbitrage", []),
        ("limit=1", ["nfl1"]),
    ],
)
async def test_opportunity_filters(served: tuple[httpx.AsyncClient, Runtime], query: str,
                                   expected: list[str]) -> None:  # fmt: skip
    response = await served[0].get(f"/api/v2/opportunities?{query}")
    assert response.status_code == 200, response.text
    assert [o["event_id"] for o in response.json()["opportunities"]] == expected


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v2/opportunities?kind=steam", "kind"),
        ("/api/v2/opportunities?sport=curling", "sport"),
        ("/api/v2/opportunities?min_edge=lots", "min_edge"),
        ("/api/v2/opportunities?min_edge=nan", "min_edge"),
        ("/api/v2/opportunities?limit=0", "limit"),
        ("/api/v2/alerts?severity=fatal", "severity"),
        ("/api/v2/alerts?status=open", "status"),
        ("/api/v2/alerts?limit=x", "limit"),
    ],
)
async def test_bad_filters_are_422_problems_naming_the_parameter(
    served: tuple[httpx.AsyncClient, Runtime], path: str, parameter: str
) -> None:
    response = await served[0].get(path)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422 and body["detail"].startswith(f"{parameter}:")


async def test_alerts_are_listed_with_their_status(served: tuple[httpx.AsyncClient, Runtime]
                                                   ) -> None:  # fmt: skip
    client, runtime = served
    body = (await client.get("/api/v2/alerts")).json()
    by_kind = {a["kind"]: a for a in body["alerts"]}
    assert set(by_kind) == {"source_breaker_open", "data_lag"}
    assert by_kind["source_breaker_open"]["status"] == "resolved"
    assert by_kind["source_breaker_open"]["severity"] == "critical"
    assert by_kind["source_breaker_open"]["resolved_at"] is not None
    assert by_kind["data_lag"]["status"] == "active" and by_kind["data_lag"]["occurrences"] == 2
    assert body["active"] == 1

    active = (await client.get("/api/v2/alerts?status=active")).json()["alerts"]
    assert [a["kind"] for a in active] == ["data_lag"]
    resolved = (await client.get("/api/v2/alerts?status=resolved")).json()["alerts"]
    assert [a["kind"] for a in resolved] == ["source_breaker_open"]
    critical = (await client.get("/api/v2/alerts?severity=critical")).json()["alerts"]
    assert [a["kind"] for a in critical] == ["source_breaker_open"]
    assert (await client.get("/api/v2/alerts?severity=info")).json()["alerts"] == []
    by_name = (await client.get("/api/v2/alerts?kind=data_lag")).json()["alerts"]
    assert [a["details"]["source"] for a in by_name] == ["espn"]
