"""The ledger: bets in and out of `bet_history`, settlement when results arrive, and the
periodic `model_performance` scores, on a small connection pool of its own.

It is a supervised child of the io branch, beside the persister. Nothing in serving waits for
it: final results are handed over with `result_nowait` (kept in memory, bounded, while the
database is away; the persister stores the same rows durably), and a sweep every
`sweep_interval` (or at once, when a result comes in) records them and settles every pending
bet whose event has a result, so bets placed after their event ended, and results written
while this replica was down, are settled too. REST calls use the pool directly; when
PostgreSQL cannot answer they raise DatabaseUnavailable, which the web answers with a 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import psycopg
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry, Counter
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ..betting import Method
from ..logs import get_logger
from ._connection import CONNECT_TIMEOUT, first_line, normalize_conninfo
from ._exceptions import DatabaseUnavailable
from .bets import BetQuery, NewBet, get_bet, insert_bet, list_bets, settle_ready, store_result
from .clv import DEFAULT_METHOD
from .performance import bet_returns, model_scores, performance_series, record_model_performance
from .results import EventResult

log = get_logger(__name__)

Pool = AsyncConnectionPool[AsyncConnection[Any]]


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    """How often the ledger settles and scores, and how it treats the database."""

    sweep_interval: float = 5.0  # settle pending bets of resulted events at least this often
    performance_interval: float = 600.0  # rewrite recent model_performance windows this often
    performance_hours: int = 48  # hourly windows rewritten each time (results come late)
    sharp_books: tuple[str, ...] = ("pinnacle",)  # closing lines from here, else the bet's book
    method: Method = DEFAULT_METHOD  # devig method for fair closing probabilities
    pool_size: int = 3
    connect_timeout: float = 2.0  # wait for a pooled connection before answering 503
    statement_timeout_ms: int = 15_000
    max_waiting_results: int = 10_000
    settle_batch: int = 500


class Ledger:
    """Records and settles bets, and scores the models; one per replica."""

    def __init__(
        self,
        conninfo: str,
        *,
        config: LedgerConfig | None = None,
        registry: CollectorRegistry | None = None,
        name: str = "ledger",
    ) -> None:
        self.name = name
        self.config = config or LedgerConfig()
        self.conninfo = normalize_conninfo(conninfo)
        self._pool: Pool | None = None
        self._results: dict[str, EventResult] = {}
        self._wake = anyio.Event()
        self._stop = anyio.Event()
        registry = registry if registry is not None else CollectorRegistry()
        self.settled = Counter("a1rt_bets_settled", "Bets settled by this replica",
                               registry=registry)  # fmt: skip
        self.results_dropped = Counter(
            "a1rt_results_dropped", "Final results dropped from memory while PostgreSQL was "
            "away (the persister still stores them)", registry=registry,
        )  # fmt: skip

    # -- the supervised child

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the pool, sweep and score on schedule until `request_stop`."""
        self._stop = anyio.Event()
        self._pool = self._new_pool()
        try:
            await self._pool.open(wait=False)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._sweep_loop)
                tg.start_soon(self._performance_loop)
                task_status.started()
                await self._stop.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                pool, self._pool = self._pool, None
                await pool.close(timeout=2.0)

    def request_stop(self) -> None:
        """Stop after the current database call."""
        self._stop.set()

    # -- what the runtime and the web call

    def result_nowait(self, result: EventResult) -> None:
        """A final result: recorded and its bets settled at the next sweep, which starts now."""
        self._results.pop(result.event_id, None)
        self._results[result.event_id] = result
        while len(self._results) > self.config.max_waiting_results:
            del self._results[next(iter(self._results))]
            self.results_dropped.inc()
        self._wake.set()

    async def place(self, bet: NewBet) -> tuple[dict[str, Any], bool]:
        """Record a bet (settling it at once if its event already has a result); its row and
        whether it is new. BetConflict if its id is taken by another bet."""
        async with self._connection() as conn:
            row, created = await insert_bet(conn, bet)
            if created and await self._settle(conn, bet.event_id):
                row = await get_bet(conn, bet.bet_id) or row
        return row, created

    async def bets(self, query: BetQuery) -> list[dict[str, Any]]:
        """Bets matching `query`, newest first."""
        async with self._connection() as conn:
            return await list_bets(conn, query)

    async def performance(
        self,
        start: datetime,
        end: datetime,
        *,
        model: str | None = None,
        currency: str | None = None,
        series: bool = False,
    ) -> dict[str, Any]:
        """Bets' ROI and CLV per currency, and the models' scores, over [start, end)."""
        async with self._connection() as conn:
            body: dict[str, Any] = {
                "bets": await bet_returns(conn, start, end, currency),
                "models": await model_scores(conn, start, end, model),
            }
            if series:
                body["series"] = await performance_series(conn, start, end, model)
        return body

    async def sweep(self) -> int:
        """Record the waiting results and settle every bet that can be; the bets settled."""
        async with self._connection() as conn:
            for event_id, result in list(self._results.items()):
                await store_result(conn, result)
                if self._results.get(event_id) is result:
                    del self._results[event_id]
            total = 0
            while True:
                settled = await self._settle(conn, None)
                total += settled
                if settled < self.config.settle_batch:
                    return total

    async def record_performance(self, now: datetime | None = None) -> int:
        """Rewrite the recent hourly `model_performance` windows; the rows written."""
        end = now or datetime.now(UTC)
        start = end - timedelta(hours=self.config.performance_hours)
        async with self._connection() as conn:
            return await record_model_performance(conn, start, end)

    # -- internals

    async def _settle(self, conn: AsyncConnection[Any], event_id: str | None) -> int:
        config = self.config
        settled = await settle_ready(conn, event_id=event_id, sharp_books=config.sharp_books,
                                     method=config.method, limit=config.settle_batch)  # fmt: skip
        self.settled.inc(settled)
        return settled

    async def _sweep_loop(self) -> None:
        while True:
            with anyio.move_on_after(self.config.sweep_interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self._quietly("settlement", self.sweep)

    async def _performance_loop(self) -> None:
        while True:
            await self._quietly("model performance", self.record_performance)
            await anyio.sleep(self.config.performance_interval)

    async def _quietly(self, what: str, work: Callable[[], Awaitable[int]]) -> None:
        try:
            await work()
        except DatabaseUnavailable as exc:
            log.info("postponed: PostgreSQL unavailable", work=what, error=str(exc))

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection; DatabaseUnavailable if there is none to be had in time, the
        connection fails, or the schema is not migrated yet."""
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("the ledger is not running")
        try:
            async with pool.connection(timeout=self.config.connect_timeout) as conn:
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"no PostgreSQL connection: {first_line(exc)}") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise DatabaseUnavailable(f"PostgreSQL failed: {first_line(exc)}") from exc
        except errors.UndefinedTable as exc:
            raise DatabaseUnavailable("the database is not migrated yet") from exc

    def _new_pool(self) -> Pool:
        timeout = self.config.statement_timeout_ms

        async def configure(conn: AsyncConnection[Any]) -> None:
            await conn.execute(f"SET statement_timeout = {int(timeout)}".encode())

        return AsyncConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=self.config.pool_size,
            open=False,
            timeout=self.config.connect_timeout,
            reconnect_timeout=10.0,
            name=self.name,
            configure=configure,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
                    "application_name": f"a1rt-{self.name}"},
        )  # fmt: skip
