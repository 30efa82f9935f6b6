"""Ordered SQL migrations, applied once each, in one transaction each, under an advisory lock.

The files are `migrations/NNNN_name.sql`, applied in version order. `schema_migrations`
records each applied file with the SHA-256 of its text; editing an applied file is refused
(MigrationChanged) rather than silently diverging from the databases it already ran on. Every
file runs in its own transaction that first takes a transaction-level advisory lock, so two
replicas (or two `a1rt migrate`) starting together apply each file exactly once: the second
waits for the first, then finds the file applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from ..logs import get_logger
from ._connection import connect
from ._exceptions import MigrationChanged, MigrationError

log = get_logger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Scoped to the schema, so databases that keep one a1rt per schema do not wait for each other.
LOCK_KEY_SQL = "hashtextextended('a1rt.migrations.' || current_schema(), 0)"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

Connection = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its version, name, SQL and checksum."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations() -> list[Migration]:
    """The packaged migration files in version order; MigrationError if one is misnamed or two
    share a version."""
    folder = resources.files("a1rt.store").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migration files have version {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(conninfo: str, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet applied; return the file names applied by this call."""
    async with connect(conninfo) as conn:
        return await apply_migrations(conn, load_migrations() if migrations is None else migrations)


async def apply_migrations(conn: Connection, migrations: list[Migration]) -> list[str]:
    """`migrate` on an open autocommit connection."""
    applied = await _applied(conn)
    for migration in migrations:
        _check_unchanged(migration, applied.get(migration.version))
    unknown = sorted(set(applied) - {m.version for m in migrations})
    if unknown:  # a newer release migrated this database; its additions are left alone
        log.warning("database has migrations this release does not know", versions=unknown)
    done = []
    for migration in migrations:
        if migration.version not in applied and await _apply(conn, migration):
            done.append(migration.filename)
    if done:
        log.info("migrations applied", files=done)
    return done


async def _applied(conn: Connection) -> dict[int, str]:
    async with conn.transaction():
        await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})")
        await conn.execute(_CREATE_TABLE)
        cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
        return {int(version): str(checksum) for version, checksum in await cur.fetchall()}


async def _apply(conn: Connection, migration: Migration) -> bool:
    """Apply one file unless another process applied it meanwhile; True if this call did."""
    try:
        async with conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL})")
            cur = await conn.execute(
                "SELECT checksum FROM schema_migrations WHERE version = %s", (migration.version,)
            )
            row = await cur.fetchone()
            if row is not None:  # applied by another process while this one waited
                _check_unchanged(migration, str(row[0]))
                return False
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.OperationalError:
        raise  # the connection failed: DatabaseUnavailable, by `connect`
    except psycopg.Error as exc:
        raise MigrationError(f"{migration.filename} failed: {exc}") from exc
    return True


def _check_unchanged(migration: Migration, checksum: str | None) -> None:
    if checksum is not None and checksum != migration.checksum:
        raise MigrationChanged(migration.version, migration.name)
