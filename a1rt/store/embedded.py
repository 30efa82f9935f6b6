"""The embedded default: a private PostgreSQL server in the data directory.

With A1RT_DATABASE_URL unset, `a1rt serve` runs one of these under A1RT_DATA_DIR/postgres: the
cluster is created on first use, the server listens on 127.0.0.1 only (trust authentication,
no unix socket) and is stopped with a fast shutdown on exit, exceptions and cancellation
included. A server left running by a process that died is adopted rather than refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType

import anyio
import anyio.to_thread

from ..config import Settings
from ..logs import get_logger
from . import _pg_ctl
from ._connection import normalize_conninfo
from ._exceptions import EmbeddedServerError

log = get_logger(__name__)

_PORT_ATTEMPTS = 3


class EmbeddedPostgres:
    """A PostgreSQL server whose cluster lives in `pgdata`; `start` returns its conninfo."""

    def __init__(self, pgdata: Path, *, port: int | None = None, timeout: float = 60.0) -> None:
        self.pgdata = pgdata.absolute()
        self.port = port
        self.timeout = timeout
        self._conninfo: str | None = None

    @property
    def conninfo(self) -> str:
        """How to connect (libpq key=value); EmbeddedServerError if the server is not started."""
        if self._conninfo is None:
            raise EmbeddedServerError(f"the embedded server on {self.pgdata} is not running")
        return self._conninfo

    async def start(self) -> str:
        """Create the cluster if needed, start the server (on the same port as last time, if it
        ran before) and return its conninfo."""
        if self._conninfo is not None:
            return self._conninfo
        self.port = await anyio.to_thread.run_sync(self._start)
        self._conninfo = _conninfo(self.port)
        log.info("embedded PostgreSQL running", pgdata=str(self.pgdata), port=self.port)
        return self._conninfo

    async def stop(self) -> None:
        """Shut the server down; waits for it even when the caller is being cancelled."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._stop)
        self._conninfo = None
        log.info("embedded PostgreSQL stopped", pgdata=str(self.pgdata))

    async def __aenter__(self) -> EmbeddedPostgres:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _start(self) -> int:
        account = _pg_ctl.server_account()
        if _pg_ctl.init(self.pgdata, account, self.timeout):
            log.info("embedded PostgreSQL cluster created", pgdata=str(self.pgdata))
        running = _pg_ctl.running_port(self.pgdata, account)
        if running is not None:
            log.warning("adopting an embedded PostgreSQL left running", port=running)
            return running
        return self._start_on_a_port(account)

    def _start_on_a_port(self, account: _pg_ctl.Account | None) -> int:
        # A probed free port may be taken by another process before the server binds it.
        attempts = 1 if self.port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self.port or _pg_ctl.free_port()
            try:
                _pg_ctl.start(self.pgdata, port, account, self.timeout)
            except EmbeddedServerError as exc:
                if attempt == attempts or "already in use" not in str(exc):
                    raise
            else:
                return port
        raise EmbeddedServerError("no free port for the embedded server")

    def _stop(self) -> None:
        _pg_ctl.stop(self.pgdata, _pg_ctl.server_account(), self.timeout)


@asynccontextmanager
async def database_conninfo(
    settings: Settings, *, share_running: bool = False
) -> AsyncIterator[str]:
    """The database to use for the duration: A1RT_DATABASE_URL when set, otherwise an embedded
    server under `data_dir/postgres`, started here and stopped on exit. With `share_running`
    (commands run beside `a1rt serve`, e.g. `a1rt keys`) an embedded server already running
    there is used and left running."""
    if settings.database_url:
        yield normalize_conninfo(settings.database_url)
        return
    pgdata = (settings.data_dir / "postgres").absolute()
    if share_running and (pgdata / "PG_VERSION").exists():
        port = await anyio.to_thread.run_sync(
            _pg_ctl.running_port, pgdata, _pg_ctl.server_account()
        )
        if port is not None:
            yield _conninfo(port)
            return
    async with EmbeddedPostgres(pgdata) as server:
        yield server.conninfo


def _conninfo(port: int) -> str:
    return f"host=127.0.0.1 port={port} user={_pg_ctl.SUPERUSER} dbname=postgres"
