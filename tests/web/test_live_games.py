"""The simulated feed end to end in one process: polled, merged, featurised, predicted, served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from a1rt.config import load_settings
from a1rt.pipeline import Runtime
from a1rt.web import create_app
from tests.sim_clock import evening_start

COMPILED_MODELS = Path(__file__).resolve().parents[2] / "compiled_models"
pytestmark = pytest.mark.anyio


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings({}, models_dir=COMPILED_MODELS, data_dir=tmp_path, sim_speed=120.0,
                             sim_start=evening_start(120.0))  # fmt: skip
    runtime = Runtime(settings)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with anyio.create_task_group() as tg:
        await tg.start(runtime.run)
        async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
            with anyio.fail_after(110):
                while (await client.get("/health/ready")).status_code != 200:
                    await anyio.sleep(0.1)
            yield client
        runtime.request_stop()


async def predicted_games(
    client: httpx.AsyncClient, sport: str, markets: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The sport's live games with a prediction (and odds in every one of `markets`: each
    market's prices arrive as their own update, so a game may be predicted before all are in)."""
    with anyio.fail_after(60):
        while True:
            body = (await client.get("/api/v2/data/live-games", params={"sport": sport})).json()
            games = [g for g in body["games"] if g["prediction"] is not None
                     and markets <= {o["market"] for o in g["odds"]}]  # fmt: skip
            if games:
                return games
            await anyio.sleep(0.2)


async def test_simulated_feed_drives_predictions_into_live_games(live: httpx.AsyncClient) -> None:
    games = await predicted_games(live, "basketball_nba", frozenset({"h2h", "spreads", "totals"}))
    game = games[0]
    assert game["sport"] == "basketball_nba" and game["sources"] == ["simulated"]
    assert {"event_id", "home_team", "away_team", "commence_time", "status", "home_score",
            "away_score", "clock", "odds", "updated_at"} <= set(game)  # fmt: skip
    assert {o["market"] for o in game["odds"]} >= {"h2h", "spreads", "totals"}
    prediction = game["prediction"]
    assert prediction["model"] == "basketball_nba_h2h"
    assert prediction["event_id"] == game["event_id"]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)

    # A bot asks by event id alone; the live features are used.
    answer = await live.post("/api/v2/predict", json={"event_id": game["event_id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["event_id"] == game["event_id"]
    assert answer.json()["model"] == "basketball_nba_h2h"
    missing = await live.post("/api/v2/predict", json={"event_id": "no-such-game"})
    assert missing.status_code == 404 and "no-such-game" in missing.json()["detail"]

    sources = (await live.get("/api/v2/sources")).json()["sources"]
    assert [s["name"] for s in sources] == ["simulated"]
    assert sources[0]["last_success_at"] is not None and sources[0]["state"] == "closed"

    fetched = await live.get("/api/v2/data/fetch", params={"source": "simulated",
                                                          "sport": "soccer_epl"})  # fmt: skip
    assert fetched.status_code == 200 and fetched.json()["games"]
    unknown = await live.get("/api/v2/data/fetch", params={"source": "espn", "sport": "soccer_epl"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    bad = await live.get("/api/v2/data/live-games", params={"sport": "curling"})
    assert bad.status_code == 422 and "curling" in bad.json()["detail"]
    with anyio.fail_after(60):  # every model of the sport, props per player and stat
        while True:
            body = await live.get("/api/v2/data/live-games", params={"sport": "basketball_nba"})
            keys = {k for g in body.json()["games"] for k in g["predictions"]}
            if "basketball_nba_totals" in keys and any(k.startswith("basketball_nba_props:")
                                                       for k in keys):  # fmt: skip
                break
            await anyio.sleep(0.2)
    metrics = (await live.get("/metrics")).text
    assert "a1rt_source_polls_total" in metrics and "a1rt_feature_vectors_total" in metrics
