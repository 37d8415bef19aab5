"""SQL of Idempotency-Key records."""

from __future__ import annotations

from typing import Any

from shared.db import Connection

# How long a first response is replayed; and after how long a claim that never finished (its
# gateway died) may be taken over.
RETENTION = "24 hours"
ABANDONED_AFTER = "60 seconds"


async def claim(conn: Connection, scope: str, key: str, request_hash: str) -> dict[str, Any] | None:
    """Claim the key for a new request; None when it is new (or was expired or abandoned),
    else the existing record."""
    row = await conn.fetchrow(
        "INSERT INTO idempotency_keys AS k (scope, key, request_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT (scope, key) DO UPDATE SET"
        "   request_hash = excluded.request_hash, locked_at = now(), created_at = now(),"
        "   status = NULL, headers = NULL, body = NULL"
        f" WHERE k.created_at < now() - interval '{RETENTION}'"
        f"    OR (k.status IS NULL AND k.locked_at < now() - interval '{ABANDONED_AFTER}')"
        " RETURNING true AS claimed",
        scope,
        key,
        request_hash,
    )
    if row is not None:
        return None
    existing = await conn.fetchrow(
        "SELECT request_hash, status, headers, body FROM idempotency_keys"
        " WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    assert existing is not None
    return dict(existing)


async def finish(
    conn: Connection, scope: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5"
        " WHERE scope = $1 AND key = $2",
        scope,
        key,
        status,
        headers,
        body,
    )


async def release(conn: Connection, scope: str, key: str) -> None:
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL", scope, key
    )


PRUNE = f"DELETE FROM idempotency_keys WHERE created_at < now() - interval '{RETENTION}'"
