"""How rows travel in binary COPY: JSONB values are already JSON text.

Rows carry JSON as text (encoded once, by msgspec, when the message becomes a row). psycopg's
own jsonb dumper would encode that text again, as a JSON string; this one sends it as it is.
It is registered by type oid on each connection, which is what binary COPY's `set_types`
looks up; the marker class is never instantiated, so parameters are not affected.
"""

from __future__ import annotations

from typing import Any

from psycopg import abc, postgres, pq
from psycopg.adapt import Dumper


class _JsonText(str):
    """Marker type for the registration (never instantiated)."""

    __slots__ = ()


class JsonTextBinaryDumper(Dumper):
    """Dump JSON text into a jsonb column in binary format (version byte, then the text)."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + (obj.encode() if isinstance(obj, str) else bytes(obj))


def configure_connection(conn: abc.AdaptContext) -> None:
    """Make binary COPY into jsonb columns take JSON text on `conn`."""
    conn.adapters.register_dumper(_JsonText, JsonTextBinaryDumper)
