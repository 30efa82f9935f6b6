"""Bets in PostgreSQL: recording and listing, closing line value from `odds_snapshots`
against the betting-math figures, results through the persister and the running ledger, and
`a1rt backup`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from a1rt.cli import main
from a1rt.messages import OddsUpdate, OutcomePrice
from a1rt.store import (
    BetConflict,
    BetQuery,
    Ledger,
    LedgerConfig,
    NewBet,
    Persister,
    PersisterConfig,
    bet_problems,
    migrate,
)
from a1rt.store.backup import dump, pg_tool
from a1rt.store.bets import get_bet, insert_bet, list_bets, settle_ready, store_result
from a1rt.store.clv import Quote, closing_line

from .test_store_database import fresh_schema, query
from .test_store_settlement import KICKOFF, bet, final


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


def odds(book: str, market: str, outcomes: list[tuple[str, float, float | None]], *,
         before: timedelta = timedelta(minutes=5), event_id: str = "e1") -> OddsUpdate:  # fmt: skip
    return OddsUpdate(
        event_id=event_id, sport="soccer_epl", home_team="Home FC", away_team="Away FC",
        commence_time=KICKOFF, book=book, market=market,  # type: ignore[arg-type]
        outcomes=tuple(OutcomePrice(name=n, price=p, point=pt) for n, p, pt in outcomes),
        source="sim", received_at=KICKOFF - before,
    )  # fmt: skip


async def store_odds(conninfo: str, tmp_path: Path, updates: list[Any]) -> None:
    persister = Persister(conninfo, tmp_path, config=PersisterConfig(flush_interval=0.05))
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            await tg.start(persister.run)
            for update in updates:
                persister.tell_nowait(update)
            await persister.wait_idle()
            persister.request_stop()


# -- closing line value, by hand (betting-math §2.2 test vectors, §2.6 formulas)

THREE_WAY = [Quote("home", 2.7, None), Quote("draw", 2.3, None), Quote("away", 4.4, None)]


def test_clv_three_way_close_matches_the_betting_math_figures() -> None:
    mult = closing_line("h2h", "home", None, 2.9, "pinnacle", THREE_WAY, method="multiplicative")
    assert mult is not None and mult.price == 2.7
    assert mult.clv_price == pytest.approx(2.9 / 2.7 - 1)  # 0.074074
    assert mult.probability == pytest.approx(0.358738, abs=1e-6)
    assert mult.clv_fair == pytest.approx(2.9 * 0.358738 - 1, abs=1e-5)  # 0.040340
    assert mult.clv_probability == pytest.approx(0.358738 - 1 / 2.9, abs=1e-6)  # 0.013911
    power = closing_line("h2h", "draw", None, 2.5, "pinnacle", THREE_WAY, method="power")
    assert power is not None and power.probability == pytest.approx(0.42373, abs=1e-5)
    assert power.clv_fair == pytest.approx(2.5 * 0.42373 - 1, abs=1e-4)


def test_clv_two_way_minus_110_close() -> None:
    close = [Quote("over", 1.909091, 2.5), Quote("under", 1.909091, 2.5)]
    line = closing_line("totals", "under", 2.5, 2.0, "pinnacle", close)
    assert line is not None and line.probability == pytest.approx(0.5)
    assert line.clv_price == pytest.approx(0.047619, abs=1e-6)
    assert line.clv_fair == pytest.approx(0.0, abs=1e-9)
    assert line.clv_probability == pytest.approx(0.0, abs=1e-9)
    moved = closing_line("totals", "under", 3.0, 2.0, "pinnacle", close)  # the line moved
    assert moved is not None and moved.point == 2.5 and moved.clv_price is None
    assert closing_line("totals", "under", 2.5, 2.0, "x", [Quote("over", 1.9, 2.5)]) is None


# -- bets and CLV in PostgreSQL


@pytest.mark.anyio
async def test_bets_clv_from_the_sharp_close_before_kickoff(conninfo: str, tmp_path: Path) -> None:
    await migrate(conninfo)
    h2h = [("Home FC", 2.7, None), ("Draw", 2.3, None), ("Away FC", 4.4, None)]
    await store_odds(conninfo, tmp_path, [
        odds("pinnacle", "h2h", [("Home FC", 2.5, None), ("Draw", 2.4, None),
                                 ("Away FC", 4.6, None)], before=timedelta(hours=3)),
        odds("pinnacle", "h2h", h2h),  # the close
        odds("pinnacle", "h2h", [("Home FC", 1.2, None), ("Draw", 5.0, None),
                                 ("Away FC", 15.0, None)], before=timedelta(minutes=-30)),
        odds("bet365", "totals", [("Over", 1.909091, 2.5), ("Under", 1.909091, 2.5)]),
    ])  # fmt: skip
    bets = [
        bet("h2h", "home", None, 2.9, "100"),  # closes at pinnacle, the sharp book
        bet("totals", "under", 2.5, 2.0, "100"),  # no pinnacle totals: its own book's close
        bet("h2h", "away", None, 5.0, "100", placed_at=KICKOFF + timedelta(minutes=10)),
    ]
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for each in bets:
            await insert_bet(conn, each)
        await store_result(conn, final(2, 0, sport="soccer_epl"))
        assert await settle_ready(conn, sharp_books=["pinnacle"], method="multiplicative") == 3
        home, under, in_play = [await get_bet(conn, b.bet_id) for b in bets]
    assert home is not None and under is not None and in_play is not None
    assert (home["close_book"], home["close_price"]) == ("pinnacle", 2.7)
    assert home["clv_price"] == pytest.approx(0.074074, abs=1e-6)
    assert home["close_probability"] == pytest.approx(0.358738, abs=1e-6)
    assert home["clv_fair"] == pytest.approx(0.040340, abs=1e-5)
    assert home["clv_probability"] == pytest.approx(0.013911, abs=1e-6)
    assert (under["close_book"], under["close_point"]) == ("bet365", 2.5)
    assert under["clv_price"] == pytest.approx(0.047619, abs=1e-6)
    assert under["clv_fair"] == pytest.approx(0.0, abs=1e-9)
    assert (under["result"], under["payout"]) == ("won", Decimal("200.0000"))
    assert in_play["close_book"] is None and in_play["clv_price"] is None  # placed in play


@pytest.mark.anyio
async def test_bets_recorded_once_listed_with_filters(conninfo: str) -> None:
    await migrate(conninfo)
    first = bet("h2h", "home", None, 2.0, "10", currency="EUR")
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        row, created = await insert_bet(conn, first)
        assert created and row["result"] == "pending" and row["stake"] == Decimal("10.0000")
        again, created = await insert_bet(conn, first)  # a retry: the same bet
        assert not created and again["bet_id"] == first.bet_id
        with pytest.raises(BetConflict, match="different price"):
            await insert_bet(conn, NewBet(**{**_fields(first), "price": 2.2}))
        for i in range(3):
            await insert_bet(conn, bet("totals", "over", 2.5, 1.9, "5", event_id=f"x{i}",
                                       placed_at=KICKOFF + timedelta(minutes=i)))  # fmt: skip
        newest = await list_bets(conn, BetQuery(market="totals", limit=2))
        assert [r["event_id"] for r in newest] == ["x2", "x1"]
        assert [r["bet_id"] for r in await list_bets(conn, BetQuery(currency="EUR"))] == [
            first.bet_id
        ]
        assert await list_bets(conn, BetQuery(result="won")) == []
        since = await list_bets(conn, BetQuery(since=KICKOFF + timedelta(minutes=1)))
        assert {r["event_id"] for r in since} == {"x1", "x2"}


def _fields(new: NewBet) -> dict[str, Any]:
    return {f: getattr(new, f) for f in new.__struct_fields__}


def test_bets_problems_name_every_bad_field() -> None:
    bad = NewBet(
        bet_id="b", event_id="", market="spreads", outcome="over", price=1.0,
        stake=Decimal("-1"), currency="usd", book="bk", placed_at=KICKOFF,
    )  # fmt: skip
    fields = [field for field, _ in bet_problems(bad)]
    assert fields == ["event_id", "outcome", "point", "price", "stake", "currency"]
    odd = NewBet(**{**_fields(bad), "event_id": "e", "outcome": "home", "point": -0.3,
                    "price": 1.5, "stake": Decimal("1.00001"), "currency": "ABC"})  # fmt: skip
    messages = dict(bet_problems(odd))
    assert set(messages) == {"point", "stake", "currency"}
    assert "ISO 4217" in messages["currency"] and "4 decimal" in messages["stake"]


# -- results through the persister, settlement by the running ledger


@pytest.mark.anyio
async def test_bets_ledger_settles_when_a_result_arrives(conninfo: str, tmp_path: Path) -> None:
    await migrate(conninfo)
    ledger = Ledger(conninfo, config=LedgerConfig(sweep_interval=0.1, performance_interval=0.2))
    result = final(99, 98)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            await tg.start(ledger.run)
            row, created = await ledger.place(bet("h2h", "home", None, 1.5, "20"))
            assert created and row["result"] == "pending"
            ledger.result_nowait(result)
            while (await ledger.bets(BetQuery()))[0]["result"] == "pending":
                await anyio.sleep(0.05)
            settled = (await ledger.bets(BetQuery()))[0]
            assert (settled["result"], settled["payout"]) == ("won", Decimal("30.0000"))
            # a bet placed after its event's result is settled as it is recorded
            late, _ = await ledger.place(bet("h2h", "away", None, 3.0, "20"))
            assert (late["result"], late["payout"]) == ("lost", Decimal("0.0000"))
            ledger.request_stop()
    assert query(conninfo, "SELECT home_score, away_score, status FROM event_results") == [
        (99, 98, "final")
    ]


@pytest.mark.anyio
async def test_bets_persister_stores_results_idempotently(conninfo: str, tmp_path: Path) -> None:
    await store_odds(conninfo, tmp_path, [final(3, 2), final(3, 2), final(1, 0, event_id="e9")])
    rows = query(conninfo, "SELECT event_id, home_score, away_score, status, final_at "
                           "FROM event_results ORDER BY event_id")  # fmt: skip
    assert [r[:4] for r in rows] == [("e1", 3, 2, "final"), ("e9", 1, 0, "final")]
    assert rows[0][4] == KICKOFF + timedelta(hours=2)


# -- backup


@pytest.mark.anyio
async def test_bets_backup_is_a_custom_format_archive(conninfo: str, tmp_path: Path) -> None:
    await migrate(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await insert_bet(conn, bet("h2h", "home", None, 2.0, "10"))
    schema = conninfo_to_dict(conninfo)["options"].split("search_path=")[1]
    archive = await dump(conninfo, tmp_path / "a1rt.dump", schemas=[schema])
    assert (await anyio.Path(archive).read_bytes())[:5] == b"PGDMP"
    restore = await anyio.run_process([str(pg_tool("pg_restore")), "--list", str(archive)])
    listing = restore.stdout.decode()
    assert f"TABLE DATA {schema} bet_history" in listing
    assert f"TABLE {schema} event_results" in listing
    assert not [p async for p in anyio.Path(tmp_path).glob("*.partial")]


def test_bets_backup_cli_bad_output_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("A1RT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    missing = tmp_path / "no" / "such" / f"{uuid.uuid4().hex}.dump"
    assert main(["backup", "--output", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--output" in err
    with pytest.raises(SystemExit) as usage:
        main(["backup", "--outptu", "x"])
    assert usage.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
