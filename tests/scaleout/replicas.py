"""Real replica processes for the scale-out tests: `a1rt serve` on its own port and data
directory, a shared database and Redis, and a small websocket client of the stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import ROOT, Server, free_port
from tests.sim_clock import evening_start

ADMIN_URL = os.environ.get("A1RT_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
KEY_NOTICE = "an admin API key was created"


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A database of its own for one test (dropped afterwards); its conninfo."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def replica_env(data_dir: Path, **env: str) -> dict[str, str]:
    return {
        **os.environ,
        "A1RT_DATA_DIR": str(data_dir),
        "A1RT_LOG_FORMAT": "json",
        "A1RT_SIM_START": str(evening_start(float(env.get("A1RT_SIM_SPEED", 60.0)))),
        **env,
    }


def start_replica(name: str, root: Path, *args: str, **env: str) -> Server:
    """`a1rt serve` as replica `name` (its data and log under `root/name`)."""
    port = free_port()
    home = root / name
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "a1rt.cli", "serve", *args],
            cwd=ROOT, env=replica_env(home / "data", A1RT_PORT=str(port), **env),
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Server(process, f"http://127.0.0.1:{port}", log)


def first_key(server: Server) -> str | None:
    """The admin key `a1rt serve` printed at first start, if it printed one."""
    lines = server.log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines[:-1]):
        if KEY_NOTICE in line and not line.startswith("{"):
            return lines[i + 1].strip()
    return None


def role(server: Server) -> str:
    """`leader (fencing token N)` or `following`, as the replica's /health says."""
    detail: str = server.get("/health").json()["components"]["leadership"]["detail"]
    return detail


def wait_for(predicate: Any, timeout: float, what: str, step: float = 0.05) -> float:
    started = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - started
        except Exception:  # noqa: S110 - a server between states; try again until the deadline
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(step)


class StreamClient:
    """A websocket client of `/api/v2/stream` (JSON frames) that checks what it receives."""

    def __init__(self, server: Server, token: str | None) -> None:
        url = server.url.replace("http://", "ws://") + "/api/v2/stream"
        self.ws: ClientConnection = connect(url, open_timeout=5, close_timeout=1, legacy=True)
        self._next_id = 0
        self.data: list[dict[str, Any]] = []  # snapshots and updates, in order
        self.request({"op": "auth", "token": token or "open"})

    def request(self, frame: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send a frame and return its answer (data frames before it are kept)."""
        self._next_id += 1
        self.ws.send(json.dumps({**frame, "id": self._next_id}))
        deadline = time.monotonic() + timeout
        while True:
            answer = self._recv(deadline - time.monotonic())
            if answer is None:
                raise AssertionError(f"no answer to {frame} within {timeout}s")
            if answer.get("id") == self._next_id:
                assert answer["op"] != "error", answer
                return answer

    def subscribe(
        self, channels: list[str], resume: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, dict[str, Any]]:
        frame: dict[str, Any] = {"op": "subscribe", "channels": channels}
        if resume:
            frame["resume"] = resume
        grants: dict[str, dict[str, Any]] = self.request(frame)["channels"]
        return grants

    def collect(self, seconds: float) -> None:
        """Keep the data frames that arrive within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._recv(deadline - time.monotonic())

    def until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s")
            self._recv(deadline - time.monotonic())

    def updates(self, channel: str) -> list[dict[str, Any]]:
        return [f for f in self.data if f["op"] == "update" and f["ch"] == channel]

    def position(self, channel: str) -> dict[str, Any]:
        """The last {epoch, seq} seen on `channel` (from an update or a snapshot)."""
        last = [f for f in self.data if f["ch"] == channel][-1]
        return {"epoch": last["epoch"], "seq": last["seq"]}

    def close(self) -> None:
        self.ws.close()

    def _recv(self, timeout: float) -> dict[str, Any] | None:
        try:
            raw = self.ws.recv(timeout=max(0.0, timeout))
        except TimeoutError:
            return None
        frame: dict[str, Any] = json.loads(raw)
        if frame["op"] in ("update", "snapshot"):
            self.data.append(frame)
        return frame


def assert_contiguous(frames: list[dict[str, Any]]) -> None:
    """Within an epoch each update's seq is the last one's plus one (conflated ones may
    jump, and say so with `con`)."""
    for before, after in zip(frames, frames[1:], strict=False):
        if after["epoch"] == before["epoch"] and not after.get("con"):
            assert after["seq"] == before["seq"] + 1, (before["seq"], after["seq"])


__all__ = ["ConnectionClosed", "StreamClient", "assert_contiguous"]
