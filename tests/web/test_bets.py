"""`/api/v2/bets` and `/api/v2/performance` over HTTP: every bad field or filter a 422 naming
it, no database or a database down a 503, and a bet settled when its game goes final."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from a1rt.config import load_settings
from a1rt.messages import GameState
from a1rt.pipeline import Runtime
from a1rt.web import create_app
from tests.store.test_store_database import closed_port_conninfo, fresh_schema

Client = httpx.AsyncClient
KICKOFF = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
BET = {"event_id": "e1", "market": "spreads", "outcome": "home", "point": -0.25, "price": 1.95,
       "stake": "100", "currency": "USD", "book": "bet365",
       "placed_at": (KICKOFF - timedelta(hours=1)).isoformat()}  # fmt: skip
PROBLEM = "application/problem+json"


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


@asynccontextmanager
async def served(tmp_path: Path, conninfo: str | None) -> AsyncIterator[tuple[Client, Runtime]]:
    (tmp_path / "models").mkdir(exist_ok=True)
    settings = load_settings({}, models_dir=tmp_path / "models", data_dir=tmp_path / "data")
    runtime = Runtime(settings, conninfo=conninfo, live=False)
    app = create_app(runtime)
    app.state["access"].keys = None  # open access: API keys are tested in test_auth.py
    transport = httpx.ASGITransport(app=app)
    async with anyio.create_task_group() as tg:
        await tg.start(runtime.run)
        async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
            yield client, runtime
        runtime.request_stop()


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    if field is not None:
        assert body["detail"].startswith(f"{field}:"), body["detail"]


BAD_BODIES = [
    ({"price": 1.0}, "price"),
    ({"price": 0.5}, "price"),
    ({"price": "2.0"}, "price"),
    ({"stake": "0"}, "stake"),
    ({"stake": -5}, "stake"),
    ({"stake": "lots"}, "stake"),
    ({"currency": "usd"}, "currency"),
    ({"currency": "DOLLARS"}, "currency"),
    ({"currency": "ABC"}, "currency"),
    ({"market": "moneyline"}, "market"),
    ({"outcome": "over"}, "outcome"),
    ({"point": None}, "point"),
    ({"point": -0.3}, "point"),
    ({"placed_at": "2026-03-10T19:30:00"}, "placed_at"),
    ({"colour": "red"}, "body"),  # "body: Object contains unknown field `colour`"
]


@pytest.mark.anyio
async def test_bets_bad_input_is_a_422_naming_the_field(tmp_path: Path) -> None:
    async with served(tmp_path, None) as (client, _):
        for change, field in BAD_BODIES:
            response = await client.post("/api/v2/bets", json={**BET, **change})
            assert_problem(response, 422, field)
        missing = {k: v for k, v in BET.items() if k != "book"}
        assert_problem(await client.post("/api/v2/bets", json=missing), 422)
        assert "book" in (await client.post("/api/v2/bets", json=missing)).json()["detail"]
        assert_problem(await client.post("/api/v2/bets", content=b"{nope"), 400)
        for params, field in [
            ({"colour": "red"}, "colour"), ({"limit": "abc"}, "limit"), ({"limit": "0"}, "limit"),
            ({"since": "yesterday"}, "since"), ({"since": "2026-03-10T10:00:00"}, "since"),
            ({"result": "maybe"}, "result"), ({"currency": "eur"}, "currency"),
            ({"market": "props"}, "market"),
        ]:  # fmt: skip
            assert_problem(await client.get("/api/v2/bets", params=params), 422, field)
        for params, field in [
            ({"window": "3w"}, "window"), ({"window": "0h"}, "window"), ({"bets": "1"}, "bets"),
            ({"since": "2026-03-10T10:00:00Z", "window": "1h"}, "window"),
            ({"since": "2026-03-10T10:00:00Z", "until": "2026-03-09T10:00:00Z"}, "since"),
            ({"series": "maybe"}, "series"),
        ]:  # fmt: skip
            assert_problem(await client.get("/api/v2/performance", params=params), 422, field)
        # good input, but no database: 503
        assert_problem(await client.post("/api/v2/bets", json=BET), 503)
        assert_problem(await client.get("/api/v2/bets"), 503)
        assert_problem(await client.get("/api/v2/performance"), 503)


@pytest.mark.anyio
async def test_bets_database_down_is_a_503(tmp_path: Path) -> None:
    async with served(tmp_path, closed_port_conninfo()) as (client, _):
        with anyio.fail_after(30):
            response = await client.post("/api/v2/bets", json=BET)
        assert_problem(response, 503)
        assert "storage unavailable" in response.json()["detail"]
        assert response.headers["retry-after"] == "5"


def final_game(home: int, away: int) -> GameState:
    return GameState(event_id="e1", sport="soccer_epl", home_team="Home FC",
                     away_team="Away FC", commence_time=KICKOFF, status="final", source="sim",
                     received_at=KICKOFF + timedelta(hours=2), home_score=home,
                     away_score=away)  # fmt: skip


async def bets(client: Client, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v2/bets", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["bets"]
    return found


@pytest.mark.anyio
async def test_bets_recorded_settled_on_final_and_measured(tmp_path: Path, conninfo: str) -> None:
    async with served(tmp_path, conninfo) as (client, runtime):
        assert runtime.persister is not None and runtime.ledger is not None
        with anyio.fail_after(60):
            await runtime.persister.wait_connected()
            placed = await client.post("/api/v2/bets", json={**BET, "bet_id": "b-1"})
            assert placed.status_code == 201, placed.text
            body = placed.json()
            assert (body["result"], body["stake"], body["profit"]) == ("pending", "100.0000", None)
            assert (
                await client.post("/api/v2/bets", json={**BET, "bet_id": "b-1"})
            ).status_code == 200
            conflict = await client.post("/api/v2/bets", json={**BET, "bet_id": "b-1",
                                                               "price": 2.5})  # fmt: skip
            assert_problem(conflict, 409)
            euro = {**BET, "market": "h2h", "outcome": "draw", "point": None, "price": 3.4,
                    "stake": "10.50", "currency": "EUR"}  # fmt: skip
            assert (await client.post("/api/v2/bets", json=euro)).status_code == 201
            assert [b["bet_id"] for b in await bets(client, currency="USD")] == ["b-1"]
            assert len(await bets(client, result="pending", event_id="e1")) == 2
            runtime._final(final_game(1, 1))  # the feature cache's on_final
            while await bets(client, result="pending"):
                await anyio.sleep(0.05)
        usd = (await bets(client, currency="USD"))[0]
        assert (usd["result"], usd["payout"], usd["profit"]) == ("half_lost", "50.0000", "-50.0000")
        eur = (await bets(client, currency="EUR"))[0]
        assert (eur["result"], eur["payout"]) == ("won", "35.7000")
        response = await client.get("/api/v2/performance", params={"window": "30d"})
        assert response.status_code == 200, response.text
        summary = {s["currency"]: s for s in response.json()["bets"]}
        assert summary["USD"]["roi"] == pytest.approx(-0.5)
        assert summary["EUR"]["roi"] == pytest.approx(2.4)
        assert response.json()["models"] == []
