"""End to end: the simulated feed's value bets, and an arbitrage planted across two books,
reach a websocket subscriber of the `opportunities` channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect

from a1rt.messages import OddsUpdate, OutcomePrice
from tests.sim_clock import evening_start
from tests.web.test_stream import serving

COMPILED_MODELS = Path(__file__).resolve().parents[2] / "compiled_models"
pytestmark = pytest.mark.anyio


def planted(event: Any, book: str, home: float, away: float) -> OddsUpdate:
    """One book's h2h prices on a live event, under a source of its own."""
    return OddsUpdate(
        event_id=f"plant:{event.event_id}", sport=event.sport, home_team=event.home_team,
        away_team=event.away_team, commence_time=event.commence_time, book=book, market="h2h",
        outcomes=(OutcomePrice(name=event.home_team, price=home),
                  OutcomePrice(name=event.away_team, price=away)),
        source="plant", received_at=datetime.now(UTC),
    )  # fmt: skip


async def test_value_bets_and_a_planted_arbitrage_reach_a_subscriber(tmp_path: Path) -> None:
    kinds: dict[str, list[dict[str, Any]]] = {}
    sim = {"sim_speed": 120.0, "sim_start": evening_start(120.0)}
    async with serving(COMPILED_MODELS, tmp_path, live=True, settings=sim) as s:
        runtime = s.runtime
        url = f"{s.url}?token=t"
        async with connect(url) as ws:
            await ws.send(json.dumps({"op": "subscribe", "id": 1,
                                      "channels": ["opportunities"]}))  # fmt: skip
            with anyio.fail_after(20):
                ack = json.loads(await ws.recv())
            assert ack["op"] == "ack" and "opportunities" in ack["channels"]
            with anyio.fail_after(60):  # an NBA game with live h2h prices to plant on
                while True:
                    events = [e for e in runtime.feature_cache.events.values()
                              if e.sport == "basketball_nba" and e.odds]  # fmt: skip
                    if events:
                        break
                    await anyio.sleep(0.2)
            event = events[0]
            # 1/2.25 + 1/2.25 < 1: a surebet across the two planted books.
            await runtime.feature_cache.tell(planted(event, "plant_a", 2.25, 1.30))
            await runtime.feature_cache.tell(planted(event, "plant_b", 1.30, 2.25))
            with anyio.fail_after(60):
                while "value" not in kinds or not any(
                    o["event_id"] == event.event_id for o in kinds.get("arbitrage", [])
                ):
                    frame = json.loads(await ws.recv())
                    if frame["op"] == "update":
                        data = frame["data"]
                        # a closure names the kind it closes: keep closures apart
                        kind = "closed" if data.get("status") == "closed" else data["kind"]
                        kinds.setdefault(kind, []).append(data)
    arbitrage = next(o for o in kinds["arbitrage"] if o["event_id"] == event.event_id)
    assert arbitrage["edge"] > 0
    # the best price of each side across every book: a planted one at least (the other side's
    # best may be a real book's, or the planted 2.25)
    books = {leg["book"] for leg in arbitrage["details"]["legs"]}
    assert len(books) == 2 and books & {"plant_a", "plant_b"}
    value = kinds["value"][0]
    assert value["edge"] > 0 and value["prediction_id"] and value["price"] > 1
