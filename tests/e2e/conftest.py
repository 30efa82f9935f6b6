from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from a1rt.web.server import FIRST_KEY_NOTICE
from tests.sim_clock import evening_start

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path  # stdout and stderr: the first-start key is printed there
    env: dict[str, str] | None = None  # to make a key if the database already had some
    api_key: str | None = None  # sent by `get` and in `headers`; known once ready

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.api_key is None else {"authorization": f"Bearer {self.api_key}"}

    def get(self, path: str, timeout: float = 5.0) -> httpx.Response:
        return httpx.get(self.url + path, timeout=timeout, headers=self.headers)

    def wait_ready(self, timeout: float = 150.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if self.get("/health/ready", timeout=2).status_code == 200:
                    self.api_key = self.api_key or first_start_key(self.log) or self._new_key()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def _new_key(self) -> str | None:
        """An admin key made with `a1rt keys create` (a database that already had keys, as a
        shared A1RT_DATABASE_URL may have, prints none at first start)."""
        if self.env is None:
            return None
        made = subprocess.run(
            [sys.executable, "-m", "a1rt.cli", "keys", "create", "--scope", "admin", "--name",
             "e2e"], cwd=ROOT, env=self.env, capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        return made.stdout.decode().splitlines()[-1]

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started


def start_server(tmp_path: Path, **env: str) -> Server:
    port = free_port()
    log = tmp_path / "server.log"
    environ = {
        **os.environ,
        "A1RT_PORT": str(port),
        "A1RT_DATA_DIR": str(tmp_path / "data"),
        "A1RT_LOG_FORMAT": "json",
        "A1RT_SIM_START": str(evening_start(float(env.get("A1RT_SIM_SPEED", 60.0)))),
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "a1rt.cli", "serve"],
            cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Server(process, f"http://127.0.0.1:{port}", log, environ)


def first_start_key(log: Path) -> str | None:
    """The admin key `a1rt serve` printed at first start (the line after the notice)."""
    lines = log.read_text(errors="replace").splitlines()
    for notice, key in zip(lines, lines[1:], strict=False):
        if notice == FIRST_KEY_NOTICE:
            return key.strip()
    return None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path)
    try:
        yield srv
    finally:
        if srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(timeout=10)
