"""Every error the store package raises.

StoreError
├── DatabaseUnavailable     PostgreSQL could not be reached (or dropped the connection)
├── MigrationError          a migration file or the schema_migrations table is not as expected
│   └── MigrationChanged    an applied migration file has been edited since it was applied
├── EmbeddedServerError     the embedded PostgreSQL server could not be set up, started or stopped
├── JournalError            the on-disk journal could not be written or read
└── UnknownApiKey           an API key id names no key

Foreign errors (psycopg, psycopg_pool, OSError, subprocess) are translated at the boundary with
``raise … from exc``, so callers catch ``StoreError`` and logs keep the cause.
"""

from __future__ import annotations

from ..errors import A1rtError


class StoreError(A1rtError):
    """Raised when anything in the store package fails; the root of its hierarchy."""


class DatabaseUnavailable(StoreError):
    """Raised when PostgreSQL refuses or drops the connection, or does not answer in time."""


class MigrationError(StoreError):
    """Raised when a migration file is malformed or fails to apply (its transaction is rolled
    back, so the schema is left as it was before that file)."""


class MigrationChanged(MigrationError):
    """Raised when a migration that is already applied no longer matches its recorded checksum."""

    def __init__(self, version: int, name: str) -> None:
        self.version = version
        self.name = name
        super().__init__(
            f"migration {version:04d}_{name}.sql was edited after it was applied; "
            "add a new migration instead of changing an applied one"
        )


class EmbeddedServerError(StoreError):
    """Raised when the embedded PostgreSQL server cannot be initialised, started or stopped; the
    message carries the tail of the server's own output."""


class JournalError(StoreError):
    """Raised when the on-disk journal cannot be written, synced or read."""


class UnknownApiKey(StoreError):
    """Raised when an API key id (e.g. `a1rt keys revoke KEY_ID`) names no key."""
