"""API keys in the `api_keys` table: created, listed, revoked; only a key's SHA-256 is kept.

A key reads `a1rt_<key_id>_<secret>`: the key id is public (it names the key in `a1rt keys
list`, logs and rate-limit counters), the secret is 256 random bits from `secrets`. The key
itself is shown once, by `create_key` or `ensure_first_key`, and never stored.

Every change NOTIFYs `KEYS_CHANNEL` in the same transaction, so a running server's key cache
(`KeyCache`) reloads as soon as the change commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, get_args

import msgspec
import psycopg

from ._connection import connect
from ._exceptions import UnknownApiKey
from .migrations import migrate

Scope = Literal["read", "predict", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)  # lowest first: read < predict < admin
KEYS_CHANNEL = "a1rt_api_keys"
_PREFIX = "a1rt"
_FIRST_KEY_LOCK = "hashtext('a1rt.api_keys.first')"


class NewKey(msgspec.Struct, frozen=True):
    """A key just created: `key` is the only copy there will ever be."""

    key_id: str
    scope: Scope
    key: str


class KeyInfo(msgspec.Struct, frozen=True):
    """One key as `a1rt keys list` shows it (never the key or its hash)."""

    key_id: str
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ActiveKey(msgspec.Struct, frozen=True):
    """A key that is not revoked, as the key cache holds it."""

    key_id: str
    scope: Scope


def hash_key(key: str) -> str:
    """The stored form of a key: 'sha256:<hex>'."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id inside a key (it may be logged; the key may not), or None if not ours."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    return key_id if prefix == _PREFIX and key_id and secret else None


def highest(scopes: list[str]) -> Scope:
    """The effective scope of a row: the highest it lists (read < predict < admin)."""
    return max((s for s in SCOPES if s in scopes), key=SCOPES.index)


async def create_key(conninfo: str, *, name: str = "", scope: Scope = "read") -> NewKey:
    """A new key with `scope`; the returned `key` is not kept anywhere."""
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {', '.join(SCOPES)}, not {scope!r}")
    async with connect(conninfo) as conn, conn.transaction():
        return await _insert(conn, name, scope)


async def list_keys(conninfo: str) -> list[KeyInfo]:
    """Every key, oldest first, revoked ones included."""
    async with connect(conninfo) as conn:
        cur = await conn.execute(
            "SELECT key_id, name, scopes, created_at, last_used_at, revoked_at "
            "FROM api_keys ORDER BY created_at, key_id"
        )
        rows = await cur.fetchall()
    return [
        KeyInfo(str(k), str(n), highest(list(s)), c, u, r)  # type: ignore[call-overload, arg-type]
        for k, n, s, c, u, r in rows
    ]


async def revoke_key(conninfo: str, key_id: str) -> datetime:
    """Revoke `key_id` (at once on every running server); when it was revoked. A key revoked
    before keeps its first revocation time. UnknownApiKey if there is no such key."""
    async with connect(conninfo) as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s "
            "RETURNING revoked_at",
            (key_id,),
        )
        row = await cur.fetchone()
        if row is None:
            raise UnknownApiKey(f"no API key {key_id!r} (see a1rt keys list)")
        await _notify(conn)
    revoked: datetime = row[0]  # type: ignore[assignment]
    return revoked


async def ensure_first_key(conninfo: str) -> str | None:
    """On a database without any key, create one admin key and return it; otherwise None.

    Migrates first (a fresh data directory has no tables yet); an advisory lock makes two
    servers starting together create one key between them."""
    await migrate(conninfo)
    async with connect(conninfo) as conn, conn.transaction():
        await conn.execute(f"SELECT pg_advisory_xact_lock({_FIRST_KEY_LOCK})")
        cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM api_keys)")
        row = await cur.fetchone()
        if row is not None and row[0]:
            return None
        return (await _insert(conn, "first start", "admin")).key


async def active_keys(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> dict[str, ActiveKey]:
    """Every key not revoked, by its hash: what the key cache serves from."""
    cur = await conn.execute("SELECT key_hash, key_id, scopes FROM api_keys "
                             "WHERE revoked_at IS NULL")  # fmt: skip
    return {
        str(h): ActiveKey(str(k), highest(list(s)))  # type: ignore[call-overload]
        for h, k, s in await cur.fetchall()
    }


async def record_use(conninfo: str, used: Mapping[str, datetime]) -> None:
    """Set `last_used_at` of many keys in one statement (it never moves back)."""
    if not used:
        return
    async with connect(conninfo) as conn:
        await conn.execute(
            "UPDATE api_keys AS k SET last_used_at = greatest(k.last_used_at, u.at) "
            "FROM unnest(%s::text[], %s::timestamptz[]) AS u(key_id, at) "
            "WHERE k.key_id = u.key_id",
            (list(used), list(used.values())),
        )


async def _insert(
    conn: psycopg.AsyncConnection[tuple[object, ...]], name: str, scope: Scope
) -> NewKey:
    key_id = secrets.token_hex(6)
    key = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    await conn.execute(
        "INSERT INTO api_keys (key_id, key_hash, name, scopes) VALUES (%s, %s, %s, %s)",
        (key_id, hash_key(key), name, [scope]),
    )
    await _notify(conn)
    return NewKey(key_id, scope, key)


async def _notify(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    await conn.execute(f"NOTIFY {KEYS_CHANNEL}")
