"""`POST|GET /api/v2/bets` and `GET /api/v2/performance`: placed bets, their settlement and
closing line value, ROI per currency with its interval, and the live models' scores.

Money (stake, payout, profit) travels as decimal strings, so no amount is rounded through a
float; prices are decimal odds. Every bad field or filter is a 422 naming it; PostgreSQL
unreachable (or no database configured) is a 503.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post

from ..store import (
    RESULTS,
    BetConflict,
    BetQuery,
    DatabaseUnavailable,
    Ledger,
    NewBet,
    bet_problems,
)
from ..store.currencies import currency_problem
from .predict import runtime_of
from .predict_body import FieldError, invalid, read
from .problems import Problem
from .responses import json_response

_WINDOW = re.compile(r"^(\d{1,4})([hd])$")
MAX_WINDOW = timedelta(days=3660)
DEFAULT_WINDOW = "7d"
BET_FILTERS = ("event_id", "result", "currency", "book", "market", "prediction_id", "since",
               "until", "limit", "offset")  # fmt: skip
PERFORMANCE_FILTERS = ("window", "since", "until", "model", "currency", "series")


class BetBody(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v2/bets`: a bet as placed. `bet_id` (yours, for idempotent retries) and
    `placed_at` (default now) are optional; `point` is the line of a spreads or totals bet."""

    event_id: str
    market: str
    outcome: str
    price: float
    stake: Decimal
    currency: str
    book: str
    point: float | None = None
    prediction_id: str | None = None
    bet_id: str | None = None
    placed_at: datetime | None = None


def _ledger(request: Request[Any, Any, Any]) -> Ledger:
    ledger: Ledger | None = getattr(runtime_of(request), "ledger", None)
    if ledger is None:
        raise Problem(503, "bets need a database, and this server runs without one",
                      kind="urn:a1rt:storage-unavailable")  # fmt: skip
    return ledger


@contextmanager
def _storage() -> Iterator[None]:
    try:
        yield
    except DatabaseUnavailable as exc:
        raise Problem(503, f"storage unavailable: {exc}", kind="urn:a1rt:storage-unavailable",
                      headers={"Retry-After": "5"}) from exc  # fmt: skip


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A bet as the API shows it: its row, with the profit once settled."""
    body = dict(row)
    payout = row.get("payout")
    body["profit"] = None if payout is None else payout - row["stake"]
    return body


class _Query:
    """A request's query parameters, checked: unknown names and bad values are 422s."""

    def __init__(self, request: Request[Any, Any, Any], allowed: tuple[str, ...]) -> None:
        self.values: dict[str, str] = {}
        for name, value in request.query_params.items():
            if name not in allowed:
                raise invalid([FieldError(name, f"unknown filter (expected {', '.join(allowed)})")])
            self.values[name] = value

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is not None and not value.strip():
            raise invalid([FieldError(name, "must not be empty")])
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in choices:
            raise invalid([FieldError(name, f"{value!r} is not one of {', '.join(choices)}")])
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.values.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise invalid([FieldError(name, f"must be an integer from {low} to {high}")])
        return number

    def moment(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace(" ", "+"))  # '+' arrives as ' '
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise invalid([FieldError(name, "expected an ISO 8601 time with an offset, e.g. "
                                            "2026-03-10T19:30:00Z")])  # fmt: skip
        return parsed

    def boolean(self, name: str) -> bool:
        value = self.choice(name, ("true", "false", "1", "0"))
        return value in ("true", "1")

    def currency(self) -> str | None:
        code = self.text("currency")
        problem = None if code is None else currency_problem(code)
        if problem:
            raise invalid([FieldError("currency", problem)])
        return code


def window_of(query: _Query, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) from `since`/`until`, or `window` back from `until` (default now)."""
    until = query.moment("until") or now
    since = query.moment("since")
    window = query.text("window")
    if since is not None and window is not None:
        raise invalid([FieldError("window", "give either window or since, not both")])
    if since is None:
        since = until - _duration(window or DEFAULT_WINDOW)
    if since >= until:
        raise invalid([FieldError("since", "must be before until")])
    return since, until


def _duration(window: str) -> timedelta:
    if window == "all":
        return MAX_WINDOW
    match = _WINDOW.match(window)
    span = None
    if match is not None:
        count = int(match.group(1))
        span = timedelta(hours=count) if match.group(2) == "h" else timedelta(days=count)
    if span is None or not timedelta(0) < span <= MAX_WINDOW:
        raise invalid([FieldError("window", f"{window!r} is not a window like 1h, 24h, 7d, "
                                            "30d or all")])  # fmt: skip
    return span


class BetsController(Controller):
    """Record and list bets; performance of bets and models."""

    path = "/api/v2"
    tags = ["bets"]

    @post("/bets", summary="Record a placed bet (settled when its event's result arrives)")
    async def place_bet(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read(request, BetBody)
        bet = NewBet(
            bet_id=body.bet_id if body.bet_id is not None else str(uuid.uuid4()),
            event_id=body.event_id, market=body.market, outcome=body.outcome,
            price=body.price, stake=body.stake, currency=body.currency, book=body.book,
            placed_at=body.placed_at or datetime.now(UTC), point=body.point,
            prediction_id=body.prediction_id,
        )  # fmt: skip
        problems = bet_problems(bet)
        if problems:
            raise invalid([FieldError(field, message) for field, message in problems])
        ledger = _ledger(request)
        with _storage():
            try:
                row, created = await ledger.place(bet)
            except BetConflict as exc:
                raise Problem(409, str(exc), kind="urn:a1rt:bet-conflict") from exc
        return json_response(shown(row), 201 if created else 200)

    @get("/bets", summary="Bets, newest first, filtered")
    async def list_bets(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        query = _Query(request, BET_FILTERS)
        filters = BetQuery(
            event_id=query.text("event_id"), result=query.choice("result", RESULTS),
            currency=query.currency(), book=query.text("book"),
            market=query.choice("market", ("h2h", "spreads", "totals")),
            prediction_id=query.text("prediction_id"), since=query.moment("since"),
            until=query.moment("until"), limit=query.integer("limit", 100, 1, 1000),
            offset=query.integer("offset", 0, 0, 1_000_000),
        )  # fmt: skip
        ledger = _ledger(request)
        with _storage():
            rows = await ledger.bets(filters)
        return json_response({"bets": [shown(r) for r in rows], "count": len(rows),
                      "limit": filters.limit, "offset": filters.offset})  # fmt: skip

    @get("/performance", summary="ROI (95% interval) and CLV per currency; models' scores")
    async def performance(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        query = _Query(request, PERFORMANCE_FILTERS)
        since, until = window_of(query, datetime.now(UTC))
        model, currency, series = query.text("model"), query.currency(), query.boolean("series")
        ledger = _ledger(request)
        with _storage():
            body = await ledger.performance(since, until, model=model, currency=currency,
                                            series=series)  # fmt: skip
        return json_response({"since": since, "until": until, **body})
