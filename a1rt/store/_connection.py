"""Short-lived connections for administrative work (migrations, partitions), with psycopg's
errors translated at the boundary."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from ._exceptions import DatabaseUnavailable

CONNECT_TIMEOUT = 10  # seconds, per connection attempt

# SQLAlchemy-style URLs from older deployments ("postgresql+asyncpg://…") name a driver that
# libpq does not know; the rest of the URL is the same.
_DRIVER_SUFFIX = re.compile(r"^(postgres(?:ql)?)\+[a-z0-9_]+://", re.IGNORECASE)


def normalize_conninfo(conninfo: str) -> str:
    """`conninfo` as libpq accepts it: a `postgresql+driver://` URL loses its `+driver`."""
    return _DRIVER_SUFFIX.sub(r"\1://", conninfo.strip())


@asynccontextmanager
async def connect(conninfo: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """An autocommit connection, closed on exit; DatabaseUnavailable if it cannot be opened or
    breaks while in use."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            normalize_conninfo(conninfo), autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {first_line(exc)}") from exc
    try:
        async with conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"PostgreSQL connection failed: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (psycopg's run to several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
