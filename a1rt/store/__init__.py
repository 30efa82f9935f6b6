"""Storage: PostgreSQL through psycopg 3 (async, pooled), SQL migrations, daily partitions,
the embedded default server, and the persister actor that writes the pipeline's output.

Entry points for the CLI and the runtime are plain async functions (`migrate`,
`ensure_partitions`, `drop_expired_partitions`), the `database_conninfo` context manager
(A1RT_DATABASE_URL or an embedded server), the `Persister` actor, and the `Ledger` (bets,
settlement on final results, closing line value, model performance) beside it; `backup` is
`a1rt backup`. API keys: `create_key`, `list_keys`, `revoke_key`, `ensure_first_key` (the
`a1rt keys` commands and the first start) and the `KeyCache` a server authenticates from.
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
    UnknownApiKey,
)
from .api_keys import (
    SCOPES,
    ActiveKey,
    KeyInfo,
    NewKey,
    Scope,
    create_key,
    ensure_first_key,
    key_id_of,
    list_keys,
    revoke_key,
)
from .backup import backup
from .bets import BetConflict, BetQuery, NewBet, bet_problems
from .config import PersisterConfig
from .embedded import EmbeddedPostgres, database_conninfo
from .health import COMPONENT as HEALTH_COMPONENT
from .journal import Journal
from .key_cache import KeyCache
from .ledger import Ledger, LedgerConfig
from .migrations import Migration, load_migrations, migrate
from .partitions import drop_expired_partitions, ensure_partitions, partition_name
from .persister import Flush, Persister, PersisterMessage
from .records import AlertRecord, OpportunityRecord
from .results import EventResult, result_of
from .rows import Persistable
from .settlement import RESULTS, Grade, settle
from .tables import PARTITIONED_TABLES, WRITTEN_TABLES, Table

__all__ = [
    "HEALTH_COMPONENT",
    "PARTITIONED_TABLES",
    "RESULTS",
    "SCOPES",
    "WRITTEN_TABLES",
    "ActiveKey",
    "AlertRecord",
    "BetConflict",
    "BetQuery",
    "DatabaseUnavailable",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "EventResult",
    "Flush",
    "Grade",
    "Journal",
    "JournalError",
    "KeyCache",
    "KeyInfo",
    "Ledger",
    "LedgerConfig",
    "Migration",
    "MigrationChanged",
    "MigrationError",
    "NewBet",
    "NewKey",
    "OpportunityRecord",
    "Persistable",
    "Persister",
    "PersisterConfig",
    "PersisterMessage",
    "Scope",
    "StoreError",
    "Table",
    "UnknownApiKey",
    "backup",
    "bet_problems",
    "configure_connection",
    "create_key",
    "database_conninfo",
    "drop_expired_partitions",
    "ensure_first_key",
    "ensure_partitions",
    "key_id_of",
    "list_keys",
    "load_migrations",
    "migrate",
    "normalize_conninfo",
    "partition_name",
    "result_of",
    "revoke_key",
    "settle",
]
