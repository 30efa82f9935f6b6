"""Placed bets in `bet_history`: recording, listing, and settling those whose event has a
result.

Settling takes pending bets of resulted events `FOR UPDATE SKIP LOCKED`, so replicas (or a
sweep and a request) settling at once never grade a bet twice; each bet gets its result, its
payout and its closing line value in the same update.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ..betting import Method
from ..logs import get_logger
from ._exceptions import StoreError
from .clv import DEFAULT_METHOD, ClosingLine, closing_line, quotes
from .currencies import currency_problem
from .results import EventResult
from .settlement import OUTCOMES, RESULTS, Grade, settle

log = get_logger(__name__)

Connection = psycopg.AsyncConnection[Any]
MAX_STAKE = Decimal("99999999999999.9999")  # numeric(18, 4)
MAX_PRICE = 10_000.0
MAX_ID = 200
MAX_LIMIT = 1000
COLUMNS = (
    "bet_id", "event_id", "market", "outcome", "point", "price", "stake", "currency", "book",
    "prediction_id", "placed_at", "result", "settled_at", "payout", "close_book", "close_price",
    "close_point", "close_probability", "clv_price", "clv_probability", "clv_fair",
)  # fmt: skip
_PLACED = COLUMNS[:11]
_SELECT = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))


class BetConflict(StoreError):
    """Raised when a bet id is already recorded with different terms."""


class NewBet(msgspec.Struct, frozen=True, kw_only=True):
    """A bet as placed: decimal price, stake in `currency` (ISO 4217)."""

    bet_id: str
    event_id: str
    market: str
    outcome: str
    price: float
    stake: Decimal
    currency: str
    book: str
    placed_at: datetime
    point: float | None = None
    prediction_id: str | None = None


@dataclass(frozen=True, slots=True)
class BetQuery:
    """Filters for listing bets; newest first."""

    event_id: str | None = None
    result: str | None = None
    currency: str | None = None
    book: str | None = None
    market: str | None = None
    prediction_id: str | None = None
    since: datetime | None = None  # placed at or after
    until: datetime | None = None  # placed before
    limit: int = 100
    offset: int = 0


def bet_problems(bet: NewBet) -> list[tuple[str, str]]:
    """Every way `bet` cannot be recorded, as (field, message)."""
    found: list[tuple[str, str]] = []
    for field in ("bet_id", "event_id", "book"):
        value = getattr(bet, field)
        if not value.strip() or len(value) > MAX_ID:
            found.append((field, f"must be 1 to {MAX_ID} characters"))
    if bet.prediction_id is not None and not 0 < len(bet.prediction_id) <= MAX_ID:
        found.append(("prediction_id", f"must be 1 to {MAX_ID} characters"))
    found.extend(_market_problems(bet))
    if not math.isfinite(bet.price) or not 1.0 < bet.price <= MAX_PRICE:
        found.append(("price", f"decimal odds must be above 1 and at most {MAX_PRICE:g}"))
    found.extend(_stake_problems(bet.stake))
    problem = currency_problem(bet.currency)
    if problem:
        found.append(("currency", problem))
    if bet.placed_at.tzinfo is None:
        found.append(("placed_at", "needs a time zone offset (e.g. 2026-03-10T19:30:00Z)"))
    return found


def _market_problems(bet: NewBet) -> list[tuple[str, str]]:
    outcomes = OUTCOMES.get(bet.market)
    if outcomes is None:
        return [("market", f"{bet.market!r} is not one of {', '.join(OUTCOMES)}")]
    found = []
    if bet.outcome not in outcomes:
        found.append(("outcome", f"{bet.outcome!r} is not one of {', '.join(outcomes)}"))
    if bet.market == "h2h":
        if bet.point is not None:
            found.append(("point", "an h2h bet has no point"))
    elif bet.point is None:
        found.append(("point", f"a {bet.market} bet needs its line"))
    elif not math.isfinite(bet.point) or (bet.point * 4) % 1 or abs(bet.point) > 1000:
        found.append(("point", "must be a multiple of 0.25 (e.g. -3.5, 2.25)"))
    return found


def _stake_problems(stake: Decimal) -> list[tuple[str, str]]:
    if not stake.is_finite() or stake <= 0:
        return [("stake", "must be a positive amount")]
    if stake > MAX_STAKE:
        return [("stake", f"must be at most {MAX_STAKE}")]
    exponent = stake.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        return [("stake", "at most 4 decimal places")]
    return []


async def insert_bet(conn: Connection, bet: NewBet) -> tuple[dict[str, Any], bool]:
    """Record `bet`; (its row, True) if new, (the row, False) if the same bet was already
    recorded; BetConflict if its id was recorded with other terms."""
    values = tuple(getattr(bet, c) for c in _PLACED)
    statement = sql.SQL(
        "INSERT INTO bet_history ({}) VALUES ({}) ON CONFLICT (bet_id) DO NOTHING RETURNING {}"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, _PLACED)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
        _SELECT,
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, values)
        row = await cur.fetchone()
    if row is not None:
        return row, True
    existing = await get_bet(conn, bet.bet_id)
    if existing is None:  # pragma: no cover - deleted between the two statements
        raise BetConflict(f"bet {bet.bet_id!r} could not be recorded")
    differing = [c for c in _PLACED[1:-1] if existing[c] != getattr(bet, c)]
    if differing:
        raise BetConflict(f"bet {bet.bet_id!r} is already recorded with a different {differing[0]}")
    return existing, False


async def get_bet(conn: Connection, bet_id: str) -> dict[str, Any] | None:
    """One bet's row, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            sql.SQL("SELECT {} FROM bet_history WHERE bet_id = %s").format(_SELECT), (bet_id,)
        )
        return await cur.fetchone()


async def list_bets(conn: Connection, query: BetQuery) -> list[dict[str, Any]]:
    """Bets matching `query`, newest placed first."""
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    for column in ("event_id", "result", "currency", "book", "market", "prediction_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if query.since is not None:
        clauses.append(sql.SQL("placed_at >= %s"))
        params.append(query.since)
    if query.until is not None:
        clauses.append(sql.SQL("placed_at < %s"))
        params.append(query.until)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("")
    statement = sql.SQL(
        "SELECT {} FROM bet_history{} ORDER BY placed_at DESC, bet_id LIMIT %s OFFSET %s"
    ).format(_SELECT, where)
    params += [min(max(query.limit, 1), MAX_LIMIT), max(query.offset, 0)]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        return await cur.fetchall()


_READY = """
SELECT b.bet_id, b.market, b.outcome, b.point, b.price, b.stake, b.book, b.placed_at,
       r.event_id, r.sport, r.home_team, r.away_team, r.home_score, r.away_score, r.status,
       r.commence_time, r.final_at, r.source
FROM bet_history b JOIN event_results r ON r.event_id = b.event_id
WHERE b.result = 'pending' AND (%(event_id)s::text IS NULL OR b.event_id = %(event_id)s)
ORDER BY b.placed_at
LIMIT %(limit)s
FOR UPDATE OF b SKIP LOCKED
"""

_CLOSE = """
SELECT book, home_team, away_team, outcomes FROM odds_snapshots
WHERE event_id = %(event_id)s AND market = %(market)s AND book = ANY(%(books)s)
  AND received_at <= %(close)s
ORDER BY array_position(%(books)s, book), received_at DESC
LIMIT 1
"""

_SETTLE = """
UPDATE bet_history SET result = %s, payout = %s, settled_at = now(), close_book = %s,
    close_price = %s, close_point = %s, close_probability = %s, clv_price = %s,
    clv_probability = %s, clv_fair = %s
WHERE bet_id = %s AND result = 'pending'
"""


async def settle_ready(
    conn: Connection,
    *,
    event_id: str | None = None,
    sharp_books: Sequence[str] = (),
    method: Method = DEFAULT_METHOD,
    limit: int = 500,
) -> int:
    """Settle up to `limit` pending bets whose event has a result (only `event_id`'s, if
    given), in one transaction; return how many were settled."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_READY, {"event_id": event_id, "limit": limit})
        ready = await cur.fetchall()
        updates = []
        for bet in ready:
            result = EventResult(**{k: bet[k] for k in EventResult.__struct_fields__})
            grade = _grade(bet, result)
            close = await _closing_line(cur, bet, result, sharp_books, method)
            updates.append(_update(bet, grade, close))
        if updates:
            await cur.executemany(_SETTLE, updates)
    if updates:
        log.info("bets settled", count=len(updates), event_id=event_id)
    return len(updates)


def _grade(bet: dict[str, Any], result: EventResult) -> Grade:
    try:
        return settle(bet["market"], bet["outcome"], bet["point"], bet["price"], bet["stake"],
                      result)  # fmt: skip
    except ValueError as exc:  # recorded before validation existed; cannot be graded
        log.warning("bet cannot be graded; voided", bet_id=bet["bet_id"], error=str(exc))
        return Grade("void", bet["stake"])


async def _closing_line(
    cur: psycopg.AsyncCursor[dict[str, Any]],
    bet: dict[str, Any],
    result: EventResult,
    sharp_books: Sequence[str],
    method: Method,
) -> ClosingLine | None:
    if result.status != "final" or bet["placed_at"] >= result.commence_time:
        return None  # no closing line for a voided or an in-play bet
    books = list(dict.fromkeys([*sharp_books, bet["book"]]))
    await cur.execute(_CLOSE, {"event_id": result.event_id, "market": bet["market"],
                               "books": books, "close": result.commence_time})  # fmt: skip
    snapshot = await cur.fetchone()
    if snapshot is None:
        return None
    close = quotes(snapshot["outcomes"], snapshot["home_team"], snapshot["away_team"])
    return closing_line(bet["market"], bet["outcome"], bet["point"], bet["price"],
                        snapshot["book"], close, method=method)  # fmt: skip


def _update(bet: dict[str, Any], grade: Grade, close: ClosingLine | None) -> tuple[Any, ...]:
    assert grade.result in RESULTS  # noqa: S101 - the table's CHECK says the same
    figures: tuple[Any, ...] = (None,) * 7
    if close is not None:
        figures = (close.book, close.price, close.point, close.probability, close.clv_price,
                   close.clv_probability, close.clv_fair)  # fmt: skip
    return (grade.result, grade.payout, *figures, bet["bet_id"])


async def store_result(conn: Connection, result: EventResult) -> bool:
    """Record `result` unless the event already has one; True if this call recorded it."""
    cur = await conn.execute(
        "INSERT INTO event_results (event_id, sport, home_team, away_team, home_score, "
        "away_score, status, commence_time, final_at, source) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
        (result.event_id, result.sport, result.home_team, result.away_team, result.home_score,
         result.away_score, result.status, result.commence_time, result.final_at,
         result.source),
    )  # fmt: skip
    return cur.rowcount > 0
