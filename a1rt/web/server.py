"""`a1rt serve`: the actors and the HTTP server in one anyio run, stopped by SIGINT/SIGTERM.

With `--workers N` (N > 1, A1RT_REDIS_URL required) the process resolves the database and the
first API key once and runs N such replicas as worker processes on one socket (`workers`).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import uvicorn
from threadpoolctl import threadpool_limits

from ..config import Settings
from ..errors import ConfigError
from ..logs import configure_logging, get_logger
from ..pipeline import Runtime
from ..store import database_conninfo, ensure_first_key, key_id_of, migrate
from .app import create_app
from .frame_writer import StreamProtocol
from .workers import Workers

log = get_logger(__name__)
# Printed on stdout, then the key alone on the next line (tests and the bench read it).
FIRST_KEY_NOTICE = "a1rt: first start: an admin API key was created (it is not shown again):"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: `serve` watches signals through anyio, and
    uvicorn's habit of re-raising the signal after shutdown would turn a clean stop into a
    death by SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(settings: Settings) -> int:
    """Run one replica (or `settings.workers` of them) until a signal stops it; return the
    process exit status."""
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"--workers {settings.workers} needs A1RT_REDIS_URL: the workers are replicas "
            "that cooperate through Redis"
        )
    threadpool_limits(limits=1)  # many tiny numpy/BLAS calls: pools only add contention
    try:
        status: int = anyio.run(_serve, settings, backend_options={"use_uvloop": True})
    except SystemExit as exc:  # uvicorn exits this way when start-up fails
        return exc.code if isinstance(exc.code, int) else 1
    return status


async def _serve(settings: Settings) -> int:
    async with database_conninfo(settings) as conninfo:  # the embedded server stops last
        await _first_key(conninfo)
        if settings.workers > 1:
            await migrate(conninfo)  # once, before any worker's persister looks
            return await Workers(settings, conninfo, _worker_main).run()
        runtime = Runtime(settings, conninfo=conninfo)
        server = _Server(_config(settings, runtime))
        return await _run(server, runtime)


async def _first_key(conninfo: str) -> None:
    """A database without API keys gets one admin key, shown once, on stdout (never logged)."""
    key = await ensure_first_key(conninfo)
    if key is not None:
        print(FIRST_KEY_NOTICE, key, sep="\n", flush=True)  # noqa: T201 - shown once, to the operator
        log.info("first admin API key created", key_id=key_id_of(key))


def _worker_main(settings: Settings, sock: socket.socket, worker: int) -> None:
    """A worker process of `--workers`: one replica serving on the inherited socket."""
    configure_logging(settings.log_level, settings.log_format)  # a spawned process starts bare
    threadpool_limits(limits=1)
    try:
        status = anyio.run(
            _serve_worker, settings, sock, worker, backend_options={"use_uvloop": True}
        )
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    sys.exit(status)


async def _serve_worker(settings: Settings, sock: socket.socket, worker: int) -> int:
    runtime = Runtime(settings, conninfo=settings.database_url, worker=worker)
    server = _Server(_config(settings, runtime))
    return await _run(server, runtime, sockets=[sock])


# How every a1rt replica runs uvicorn (the bench and the tests' servers too). Compression
# would hide a slow websocket client's backlog (and costs ~64 KiB per connection): the hub's
# byte-bounded queues are the backpressure that counts. `StreamProtocol` gives the stream its
# direct path (`frame_writer`). Nothing reads a request's client address or scheme, so uvicorn's
# X-Forwarded-* middleware (~2% of a prediction's CPU) would only cost.
UVICORN_OPTIONS: dict[str, Any] = {
    "http": "httptools", "ws": StreamProtocol, "ws_per_message_deflate": False,
    "lifespan": "on", "log_config": None, "access_log": False, "server_header": False,
    "proxy_headers": False,
}  # fmt: skip


def _config(settings: Settings, runtime: Runtime) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(runtime),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout / 2)),
        **UVICORN_OPTIONS,
    )


async def _run(
    server: _Server, runtime: Runtime, sockets: list[socket.socket] | None = None
) -> int:
    status = 0

    def fatal(exc: BaseException) -> None:
        nonlocal status
        status = 1
        server.should_exit = True

    runtime.on_fatal(fatal)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_stop_on_signal, server)
        await server.serve(sockets=sockets)
        tg.cancel_scope.cancel()
    if not server.started:
        return 3
    log.info("stopped", exit_status=status)
    return status


async def _stop_on_signal(server: _Server) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("shutting down", signal=signal.Signals(signum).name)
            if server.should_exit:  # a second signal: stop waiting for connections
                server.force_exit = True
            server.should_exit = True
