"""Settlement: every result kind graded by hand (whole, half and quarter lines, pushes,
voids), then the same against PostgreSQL, with the closing line value beside it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import anyio.lowlevel
import psycopg
import pytest

from a1rt.store import EventResult, NewBet, migrate, settle
from a1rt.store.bets import get_bet, insert_bet, settle_ready, store_result
from a1rt.store.settlement import is_quarter

from .test_store_database import fresh_schema, query

KICKOFF = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)


@pytest.fixture
def conninfo(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_schema(request)


def final(home: int, away: int, *, sport: str = "basketball_nba", status: str = "final",
          event_id: str = "e1") -> EventResult:  # fmt: skip
    return EventResult(
        event_id=event_id, sport=sport, home_team="Home FC", away_team="Away FC",
        home_score=home, away_score=away, commence_time=KICKOFF,
        final_at=KICKOFF + timedelta(hours=2), source="sim", status=status,  # type: ignore[arg-type]
    )  # fmt: skip


# (market, outcome, point, price, stake, home, away, sport) -> (result, payout)
CASES = [
    # h2h: a win returns stake x price, a loss nothing
    ("h2h", "home", None, 2.10, "100", 110, 100, "basketball_nba", "won", "210.0000"),
    ("h2h", "away", None, 1.80, "50", 110, 100, "basketball_nba", "lost", "0.0000"),
    # a two-way moneyline tie pushes; in soccer the draw is an outcome and home loses
    ("h2h", "home", None, 1.90, "100", 20, 20, "americanfootball_nfl", "push", "100.0000"),
    ("h2h", "home", None, 1.90, "100", 1, 1, "soccer_epl", "lost", "0.0000"),
    ("h2h", "draw", None, 3.40, "10", 1, 1, "soccer_epl", "won", "34.0000"),
    ("h2h", "draw", None, 3.40, "10", 2, 1, "soccer_epl", "lost", "0.0000"),
    # spreads on half and whole lines
    ("spreads", "home", -3.5, 1.91, "100", 104, 100, "basketball_nba", "won", "191.0000"),
    ("spreads", "home", -3.5, 1.91, "100", 103, 100, "basketball_nba", "lost", "0.0000"),
    ("spreads", "home", -3.0, 1.91, "100", 103, 100, "basketball_nba", "push", "100.0000"),
    ("spreads", "away", 3.0, 1.91, "100", 103, 100, "basketball_nba", "push", "100.0000"),
    ("spreads", "away", 3.5, 1.91, "100", 103, 100, "basketball_nba", "won", "191.0000"),
    # quarter lines: -0.25 is half on 0, half on -0.5
    ("spreads", "home", -0.25, 1.95, "100", 1, 1, "soccer_epl", "half_lost", "50.0000"),
    ("spreads", "home", -0.25, 1.95, "100", 2, 1, "soccer_epl", "won", "195.0000"),
    ("spreads", "away", -0.25, 1.95, "100", 2, 1, "soccer_epl", "lost", "0.0000"),
    # +0.75 is half on +0.5 and half on +1: a one-goal loss loses one half, pushes the other
    ("spreads", "away", 0.75, 1.90, "100", 2, 1, "soccer_epl", "half_lost", "50.0000"),
    ("spreads", "away", 0.75, 1.90, "100", 3, 1, "soccer_epl", "lost", "0.0000"),
    ("spreads", "away", 0.75, 1.90, "100", 1, 1, "soccer_epl", "won", "190.0000"),
    ("spreads", "home", -0.75, 2.00, "100", 2, 1, "soccer_epl", "half_won", "150.0000"),
    ("spreads", "home", 0.25, 2.00, "100", 1, 1, "soccer_epl", "half_won", "150.0000"),
    # totals: over and under, whole, half and quarter lines
    ("totals", "over", 210.0, 1.90, "100", 110, 100, "basketball_nba", "push", "100.0000"),
    ("totals", "under", 210.5, 1.90, "100", 110, 100, "basketball_nba", "won", "190.0000"),
    ("totals", "over", 210.5, 1.90, "100", 110, 100, "basketball_nba", "lost", "0.0000"),
    ("totals", "over", 2.25, 1.90, "100", 1, 1, "soccer_epl", "half_lost", "50.0000"),
    ("totals", "over", 2.25, 1.90, "100", 2, 1, "soccer_epl", "won", "190.0000"),
    ("totals", "under", 2.75, 2.05, "100", 2, 1, "soccer_epl", "half_lost", "50.0000"),
    ("totals", "under", 2.75, 2.05, "100", 1, 1, "soccer_epl", "won", "205.0000"),
    ("totals", "over", 2.75, 2.05, "100", 2, 1, "soccer_epl", "half_won", "152.5000"),
    ("totals", "under", 2.25, 1.80, "100", 1, 1, "soccer_epl", "half_won", "140.0000"),
    # payouts keep 4 decimals, rounded half to even
    ("h2h", "home", None, 1.333, "10.01", 3, 1, "soccer_epl", "won", "13.3433"),
]


@pytest.mark.parametrize(
    ("market", "outcome", "point", "price", "stake", "home", "away", "sport", "result", "payout"),
    CASES,
)
def test_settlement_grades_and_pays_by_hand(
    market: str, outcome: str, point: float | None, price: float, stake: str,
    home: int, away: int, sport: str, result: str, payout: str,
) -> None:  # fmt: skip
    grade = settle(market, outcome, point, price, Decimal(stake), final(home, away, sport=sport))
    assert (grade.result, grade.payout) == (result, Decimal(payout))


@pytest.mark.parametrize("status", ["cancelled", "postponed"])
def test_settlement_cancelled_event_voids_and_returns_the_stake(status: str) -> None:
    grade = settle("h2h", "home", None, 2.5, Decimal("40"), final(0, 0, status=status))
    assert (grade.result, grade.payout) == ("void", Decimal("40.0000"))


def test_settlement_refuses_what_cannot_be_graded() -> None:
    with pytest.raises(ValueError, match="needs its point"):
        settle("spreads", "home", None, 1.9, Decimal(1), final(1, 0))
    with pytest.raises(ValueError, match="not an outcome"):
        settle("totals", "home", 2.5, 1.9, Decimal(1), final(1, 0))
    with pytest.raises(ValueError, match="multiple of 0.25"):
        settle("totals", "over", 2.1, 1.9, Decimal(1), final(1, 0))
    assert [is_quarter(p) for p in (-0.25, 0.75, 2.5, 3.0, -1.75)] == [
        True, True, False, False, True,
    ]  # fmt: skip


# -- against PostgreSQL


def bet(market: str, outcome: str, point: float | None, price: float, stake: str, *,
        event_id: str = "e1", book: str = "bet365", placed_at: datetime | None = None,
        currency: str = "USD") -> NewBet:  # fmt: skip
    return NewBet(
        bet_id=str(uuid.uuid4()), event_id=event_id, market=market, outcome=outcome,
        point=point, price=price, stake=Decimal(stake), currency=currency, book=book,
        placed_at=placed_at or KICKOFF - timedelta(hours=1),
    )  # fmt: skip


@pytest.mark.anyio
async def test_settlement_in_postgres_settles_each_kind_once(conninfo: str) -> None:
    await migrate(conninfo)
    soccer = [
        ("spreads", "home", -0.25, 1.95, "100", "half_lost", "50.0000"),
        ("spreads", "away", 0.75, 1.90, "100", "won", "190.0000"),
        ("totals", "over", 2.0, 1.90, "100", "push", "100.0000"),
        ("totals", "under", 2.75, 2.05, "100", "won", "205.0000"),
        ("h2h", "draw", None, 3.40, "25.5", "won", "86.7000"),
        ("h2h", "home", None, 2.40, "25.5", "lost", "0.0000"),
    ]
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        placed = [(await insert_bet(conn, bet(*c[:5])))[0]["bet_id"] for c in soccer]
        other = (await insert_bet(conn, bet("h2h", "home", None, 2.0, "10", event_id="e2")))[0]
        assert await settle_ready(conn) == 0  # no result yet
        assert await store_result(conn, final(1, 1, sport="soccer_epl"))
        assert not await store_result(conn, final(5, 0, sport="soccer_epl"))  # first one stays
        assert await settle_ready(conn) == len(soccer)
        assert await settle_ready(conn) == 0  # settled once
        for bet_id, case in zip(placed, soccer, strict=True):
            row = await get_bet(conn, bet_id)
            assert row is not None
            assert (row["result"], row["payout"]) == (case[5], Decimal(case[6]))
            assert row["settled_at"] is not None
        pending = await get_bet(conn, other["bet_id"])
        assert pending is not None and pending["result"] == "pending"
        await store_result(conn, final(0, 0, event_id="e2", status="cancelled"))
        assert await settle_ready(conn, event_id="e2") == 1
        voided = await get_bet(conn, other["bet_id"])
        assert voided is not None
        assert (voided["result"], voided["payout"]) == ("void", Decimal("10.0000"))


@pytest.mark.anyio
async def test_settlement_concurrent_sweeps_settle_each_bet_exactly_once(conninfo: str) -> None:
    await migrate(conninfo)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        for _ in range(60):
            await insert_bet(conn, bet("h2h", "home", None, 2.0, "1"))
        await store_result(conn, final(3, 1))
    counts: list[int] = []

    async def sweep() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            total = 0
            while settled := await settle_ready(conn, limit=7):
                total += settled
                await anyio.lowlevel.checkpoint()
            counts.append(total)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(sweep)
    assert sum(counts) == 60
    assert query(conninfo, "SELECT result, count(*), sum(payout) FROM bet_history GROUP BY 1") == [
        ("won", 60, Decimal("120.0000"))
    ]
