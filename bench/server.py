"""The server under test: `a1rt serve` as a subprocess on a free port, and CPU use from /proc.

The server runs in a session of its own, so its CPU can be read as the whole tree it started
(an embedded PostgreSQL included, even one that daemonised away from its parent but kept the
session): `tree_cpu_seconds` sums user + sys of every such live process plus the reaped children
they waited for. `machine_cpu_seconds` is the same sum over every process, so what neither the
server nor the generator used (other work on a shared box) shows too. Linux only, like the bench.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
# a1rt.web.server.FIRST_KEY_NOTICE, spelled out: importing it would load the ML stack into
# every load-generator process (2 s and ~200 MB each).
FIRST_KEY_NOTICE = "a1rt: first start: an admin API key was created (it is not shown again):"
READY_TIMEOUT_S = 240.0  # a fresh data dir compiles every model first (~30 s on 2 cores)
STOP_TIMEOUT_S = 15.0  # the server promises an exit within 10 s of SIGTERM
_TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(RuntimeError):
    """Raised when the server under test exits early, is not ready in time, or will not stop."""


def log_tail(path: Path, chars: int = 3000) -> str:
    """The end of a server's log file (for the error that says why it failed)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3 onward), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    """utime + stime + cutime + cstime (fields 14-17), in seconds."""
    return sum(int(value) for value in fields[11:15]) / _TICKS


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            stats[int(entry.name)] = fields
    return stats


def tree_members(root: int, stats: Mapping[int, list[str]]) -> set[int]:
    """``root``, its live descendants and, if it leads a session, that session's processes."""
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    members, frontier = {root}, [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in members:
                members.add(child)
                frontier.append(child)
    session = [pid for pid, fields in stats.items() if int(fields[3]) == root]
    return members | set(session)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root``'s process tree (see the module docstring)."""
    stats = _all_stats()
    if root not in stats:
        raise ProcessLookupError(root)
    return sum(_cpu_seconds(stats[pid]) for pid in tree_members(root, stats))


def machine_cpu_seconds() -> float:
    """CPU seconds used so far by every live process, with the reaped children each waited for.

    Summed per process rather than read from /proc/stat's busy ticks: those are sampled at the
    timer tick, and a load that wakes on the tick and sleeps before the next one (an open-loop
    generator at 1000/s) is under-counted there, so "other" would go negative.
    """
    return sum(_cpu_seconds(fields) for fields in _all_stats().values())


class A1rtServer:
    """`a1rt serve` on a free 127.0.0.1 port with a given data dir; a context manager."""

    def __init__(self, data_dir: Path, log_path: Path, env: Mapping[str, str] | None = None):
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            "A1RT_HOST": "127.0.0.1",
            "A1RT_PORT": str(self.port),
            "A1RT_DATA_DIR": str(data_dir),
            "A1RT_LOG_FORMAT": "json",
            "A1RT_LOG_LEVEL": "warning",
            # The bench measures the server's ceiling, not one key's rate limit.
            "A1RT_KEY_RATE": "1000000",
            "A1RT_KEY_BURST": "1000000",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.data_dir = data_dir
        self.api_key: str | None = None  # an admin key, known once started

    @property
    def auth_headers(self) -> dict[str, str]:
        """`Authorization: Bearer` with `api_key`, for every request but the probes."""
        return {} if self.api_key is None else {"authorization": f"Bearer {self.api_key}"}

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id (it leads its own session)."""
        if self.process is None:
            raise ServerFailed("the server has not been started")
        return self.process.pid

    def describe(self) -> dict[str, Any]:
        """Command and A1RT_* environment, for the record."""
        return {"command": "python -m a1rt.cli serve", "env": dict(self.env)}

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Start the process and wait until `/health/ready` answers 200; `api_key` is then an
        admin key: made beforehand when the database may already exist (a reused data dir or
        A1RT_DATABASE_URL), else the one `a1rt serve` prints at first start."""
        env = {**os.environ, **self.env}
        if (self.data_dir / "postgres").exists() or env.get("A1RT_DATABASE_URL"):
            made = subprocess.run(
                [sys.executable, "-m", "a1rt.cli", "keys", "create", "--scope", "admin",
                 "--name", "bench"], cwd=ROOT, env=env, capture_output=True, timeout=120,
            )  # fmt: skip
            if made.returncode != 0:
                raise ServerFailed(f"a1rt keys create failed: {made.stderr.decode()[-2000:]}")
            self.api_key = made.stdout.decode().splitlines()[-1]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "a1rt.cli", "serve"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout)
        self.api_key = self.api_key or self._first_start_key()

    def _first_start_key(self) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        for notice, key in zip(lines, lines[1:], strict=False):
            if notice == FIRST_KEY_NOTICE:
                return key.strip()
        raise ServerFailed(f"a1rt serve printed no first-start API key:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerFailed(f"a1rt serve exited before it was ready:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ServerFailed(f"a1rt serve was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def wait_settled(
        self, max_cores: float = 0.3, window_s: float = 1.0, timeout: float = READY_TIMEOUT_S
    ) -> float:
        """Wait until the server tree uses under `max_cores` over a `window_s` window, and
        return the seconds that took. Ready is not idle: the simulator builds each sport's
        season on its first poll (seconds of CPU on 2 cores), and a phase measured over that
        would charge start-up work to whatever ran first."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before, at = tree_cpu_seconds(self.pid), time.monotonic()
            time.sleep(window_s)
            if tree_cpu_seconds(self.pid) - before < max_cores * (time.monotonic() - at):
                return round(time.monotonic() - started, 1)
        raise ServerFailed(f"a1rt serve was still busy {timeout:.0f} s after it was ready")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> tuple[int, float]:
        """SIGTERM, then wait; returns (exit status, seconds taken). Killed if it overruns."""
        if self.process is None:
            raise ServerFailed("the server has not been started")
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self._kill()
            raise ServerFailed(f"a1rt serve did not stop within {timeout:.0f} s") from exc
        finally:
            if self._log is not None:
                self._log.close()
        return code, round(time.monotonic() - started, 3)

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the session (group) we started
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log."""
        return log_tail(self.log_path, chars)

    def __enter__(self) -> A1rtServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                self.stop()
            except ServerFailed:
                pass  # already killed; the original error (if any) is what matters
