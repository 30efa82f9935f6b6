"""Storage: PostgreSQL through psycopg 3 (async, pooled), SQL migrations, daily partitions,
the embedded default server, and the persister actor that writes the pipeline's output.

Entry points for the CLI and the runtime are plain async functions (`migrate`,
`ensure_partitions`, `drop_expired_partitions`), the `database_conninfo` context manager
(A1RT_DATABASE_URL or an embedded server) and the `Persister` actor.
"""

from __future__ import annotations

from ._adapt import configure_connection
from ._connection import normalize_conninfo
from ._exceptions import (
    DatabaseUnavailable,
    EmbeddedServerError,
    JournalError,
    MigrationChanged,
    MigrationError,
    StoreError,
)
from .config import PersisterConfig
from .embedded import EmbeddedPostgres, database_conninfo
from .health import COMPONENT as HEALTH_COMPONENT
from .journal import Journal
from .migrations import Migration, load_migrations, migrate
from .partitions import drop_expired_partitions, ensure_partitions, partition_name
from .persister import Flush, Persister, PersisterMessage
from .records import AlertRecord, OpportunityRecord
from .rows import Persistable
from .tables import PARTITIONED_TABLES, WRITTEN_TABLES, Table

__all__ = [
    "HEALTH_COMPONENT",
    "PARTITIONED_TABLES",
    "WRITTEN_TABLES",
    "AlertRecord",
    "DatabaseUnavailable",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "Flush",
    "Journal",
    "JournalError",
    "Migration",
    "MigrationChanged",
    "MigrationError",
    "OpportunityRecord",
    "Persistable",
    "Persister",
    "PersisterConfig",
    "PersisterMessage",
    "StoreError",
    "Table",
    "configure_connection",
    "database_conninfo",
    "drop_expired_partitions",
    "ensure_partitions",
    "load_migrations",
    "migrate",
    "normalize_conninfo",
    "partition_name",
]
