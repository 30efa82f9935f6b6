"""A peer server as a subprocess in a session of its own, started and stopped like `A1rtServer`.

Being a session leader lets `tree_cpu_seconds` count the peer's whole tree (MLServer's
inference worker processes included) and lets a stuck peer be killed as one process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from ..server import ServerFailed, log_tail

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


class PeerServer:
    """``command`` on 127.0.0.1:``port``, ready when ``ready_path`` answers 200."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        port: int,
        ready_path: str,
        log_path: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.command = list(command)
        self.port = port
        self.ready_path = ready_path
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The peer's process id (it leads its own session)."""
        if self.process is None:
            raise ServerFailed(f"{self.name} has not been started")
        return self.process.pid

    def describe(self) -> dict[str, Any]:
        """Command and extra environment, for the record."""
        return {"command": " ".join(self.command), "env": dict(self.env)}

    def launch(self) -> None:
        """Start the process without waiting (so several peers can boot at once)."""
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> float:
        """Block until ready; returns seconds since launch. Raises `ServerFailed` if it dies."""
        started, deadline = time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited before it was ready:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2.0).status_code == 200:
                    return round(time.monotonic() - started, 1)
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ServerFailed(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the session, then SIGKILL it if it overruns; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(timeout=timeout)
        self._reap_group()
        if self._log is not None:
            self._log.close()
        return code

    def _reap_group(self) -> None:
        """Kill what is left of the session (worker processes orphaned by the leader's exit)."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the peer's log."""
        return log_tail(self.log_path, chars)

    def __enter__(self) -> PeerServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
