"""What both stream servers under test share: the published data, the open-loop publishing
schedule, and the command loop through which the bench drives a server process.

A step publishes ``rate`` messages per second on one channel for ``seconds``; every subscriber
of the channel should receive each one, so ``rate`` is the per-subscriber update rate. Message
``k`` is *intended* at ``start + k / rate`` and stamped with that moment's wall clock
(`time.time_ns`, comparable across processes on one machine) in its data as ``t``: a client's
latency is receipt minus ``t``, so a publisher that falls behind is charged, not hidden. The
data is shaped like a prediction (~230 bytes of JSON) and keyed by one of `KEYS` events, as
the state channel it goes out on requires.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anyio

from .stats import summary_us

# A state channel (a slow reader is conflated, not closed) that only clients read: with Redis, a
# follower also feeds its feature cache from the games/odds/props streams, which is not fan-out.
CHANNEL = "predictions:basketball_nba"
KEYS = 100  # events the updates cycle through (the channel keeps the latest per key)
LATE_AFTER_S = 0.002  # a publish later than this behind its intended time counts as late
START_LEAD_S = 0.005

Offer = Callable[[int, dict[str, Any]], None]  # (k, data): publish one message now
Handler = Callable[..., Awaitable[Any]]


MODEL = "basketball_nba_h2h"


def key_of(k: int) -> tuple[str, str, str]:
    """The state key of message ``k``: (event, model, subject), as predictions are keyed."""
    return (f"bench:{k % KEYS}", MODEL, "home")


def payload(step: int, k: int, intended_ns: int) -> dict[str, Any]:
    """Message ``k`` of ``step``: the stamp the client reads (s, k, t) and a prediction-like
    body."""
    event = k % KEYS
    home = 0.45 + (k % 11) / 100
    return {
        "s": step, "k": k, "t": intended_ns, "event_id": f"bench:{event}", "model": MODEL,
        "version": "bench-1", "subject": "home", "home_team": f"Home {event}",
        "away_team": f"Away {event}",
        "probabilities": {"home": round(home, 4), "away": round(1 - home, 4)},
    }  # fmt: skip


async def publish_step(offer: Offer, step: int, rate: float, seconds: float) -> dict[str, Any]:
    """Publish ``rate``/s for ``seconds`` on schedule, whatever the subscribers do."""
    total = max(1, math.ceil(rate * seconds - 1e-9))
    now = time.perf_counter()
    start = now + START_LEAD_S
    wall_start = time.time_ns() + round(START_LEAD_S * 1e9)
    lags: list[float] = []
    k = 0
    while k < total:
        delay = start + k / rate - time.perf_counter()
        if delay > 0:  # a timer may fire early: look again rather than publish ahead of time
            await anyio.sleep(delay)
            continue
        due = min(total, math.floor((time.perf_counter() - start) * rate + 1e-6) + 1)
        for i in range(k, max(due, k + 1)):  # every message already due goes out now
            offer(i, payload(step, i, wall_start + round(i * 1e9 / rate)))
            lags.append(time.perf_counter() - (start + i / rate))
        k = max(due, k + 1)
    return {
        "published": total,
        "elapsed_s": round(time.perf_counter() - start, 4),
        "late_publishes": sum(lag > LATE_AFTER_S for lag in lags),
        "publish_lag": summary_us([max(0.0, lag) for lag in lags]),
    }


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free 127.0.0.1 port (the server listens on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def raise_open_files() -> int:
    """Raise this process's soft limit on open files to the hard one; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of ``pid`` (default: this process), from /proc."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ProcessLookupError(pid)


async def settled_rss() -> int:
    """This process's RSS after a full garbage collection."""
    gc.collect()
    return rss_bytes()


async def command_loop(conn: Connection, handlers: dict[str, Handler]) -> None:
    """Answer the bench's commands, one at a time, until it sends `stop`."""
    while True:
        await anyio.wait_readable(conn.fileno())
        name, *args = conn.recv()
        if name == "stop":
            conn.send({"stopped": True})
            return
        handler = handlers.get(name)
        if handler is None:
            conn.send({"error": f"unknown command {name!r}"})
            continue
        conn.send(await handler(*args))
