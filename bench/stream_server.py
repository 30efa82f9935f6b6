"""The a1rt replica under test: `Runtime(settings)` + `create_app` on uvicorn, in its own process.

The uvicorn configuration is `a1rt serve`'s (httptools, no per-message deflate). The replica
runs no pollers (`live=False`) and has no database (no `conninfo`, hence no key store: every
token is accepted, and auth happens only at connect, `?token=`), and its models directory is
empty, so nothing but the stream competes for the CPU. Messages are published the way the
pipeline publishes them: `Publish` offered to `runtime.publisher`, which routes them to the hub
(and, with `A1RT_REDIS_URL` set once scale-out lands, through Redis).

`a1rt_main` is a spawned process's entry point; it answers the bench's commands over a pipe:
``publish(step, rate, seconds)``, ``rss()``, ``info()``, ``stop()``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anyio
import uvicorn

from a1rt.config import load_settings
from a1rt.logs import configure_logging
from a1rt.pipeline import Runtime
from a1rt.pipeline.publisher import Publish
from a1rt.web import create_app
from a1rt.web.server import UVICORN_OPTIONS
from a1rt.web.stream_protocol import StreamLimits

from .stream_publish import (
    CHANNEL,
    command_loop,
    key_of,
    listening_socket,
    publish_step,
    raise_open_files,
    settled_rss,
)

STREAM_PATH = "/api/v2/stream?token=bench"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the bench stops it by command
        yield


def a1rt_main(conn: Connection, env: Mapping[str, str], data_dir: str, heartbeat: float) -> None:
    """Serve one replica until told to stop (a spawned process's entry point)."""
    raise_open_files()
    configure_logging("warning", "json")
    anyio.run(_serve, conn, dict(env), Path(data_dir), heartbeat,
              backend_options={"use_uvloop": True})  # fmt: skip


async def _serve(conn: Connection, env: dict[str, str], data_dir: Path, heartbeat: float) -> None:
    models = data_dir / "no-models"
    models.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env, data_dir=data_dir, models_dir=models,
                             model_poll_interval=3600.0, log_level="warning")  # fmt: skip
    runtime = Runtime(settings, live=False)
    app = create_app(runtime)
    app.state["stream_limits"] = StreamLimits(heartbeat=heartbeat)
    sock = listening_socket()
    config = uvicorn.Config(app, timeout_graceful_shutdown=2, **UVICORN_OPTIONS)
    server = _Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(60):
            while not server.started:
                await anyio.sleep(0.02)
        conn.send({"port": sock.getsockname()[1], "pid": os.getpid(), "path": STREAM_PATH})
        await command_loop(conn, _handlers(runtime))
        server.should_exit = True


def _handlers(runtime: Runtime) -> dict[str, Any]:
    def offer(k: int, data: dict[str, Any]) -> None:
        runtime.publisher.offer(Publish(channel=CHANNEL, data=data, key=key_of(k)))

    async def publish(step: int, rate: float, seconds: float) -> dict[str, Any]:
        refused = runtime.publisher.stats().refused
        report = await publish_step(offer, step, rate, seconds)
        return report | {"publisher_refused": runtime.publisher.stats().refused - refused}

    async def rss() -> int:
        return await settled_rss()

    async def info() -> dict[str, Any]:
        return {"hub_subscribers": runtime.hub.subscribers(CHANNEL),
                "publisher_unroutable": runtime.publisher.unroutable,
                "leading": getattr(runtime, "leading", True),  # single node: always
                "seq": runtime.hub.channel(CHANNEL).seq}  # fmt: skip

    return {"publish": publish, "rss": rss, "info": info}
