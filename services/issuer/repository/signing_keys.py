"""SQL of the systems' signing keys (`signing_keys`)."""

from __future__ import annotations

from typing import Any

from shared.db import Connection

Row = dict[str, Any]


class SigningKeys:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def current(self, system_id: int) -> list[Row]:
        """The system's current keys (one of each type, once created)."""
        rows = await self._conn.fetch(
            "SELECT * FROM signing_keys WHERE system_id = $1 AND status = 'current'", system_id
        )
        return [dict(row) for row in rows]

    async def add_current(
        self,
        system_id: int,
        system: str,
        key_id: str,
        key_type: str,
        sealed: str,
        public_key: dict[str, Any],
    ) -> bool:
        """Add a current key of `key_type`; False when the system has one already (another
        process created it first)."""
        row = await self._conn.fetchrow(
            "INSERT INTO signing_keys (id, system_id, system, type, sealed, public_key)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (system_id, type) WHERE status = 'current' DO NOTHING RETURNING id",
            key_id,
            system_id,
            system,
            key_type,
            sealed,
            public_key,
        )
        return row is not None

    async def demote_current(self, system_id: int) -> None:
        """The current keys become previous: they stay published, and stop signing."""
        await self._conn.execute(
            "UPDATE signing_keys SET status = 'previous'"
            " WHERE system_id = $1 AND status = 'current'",
            system_id,
        )

    async def listing(self, system_id: int) -> list[Row]:
        rows = await self._conn.fetch(
            "SELECT id, type, status, public_key, created_at, retired_at FROM signing_keys"
            " WHERE system_id = $1 ORDER BY created_at DESC, type",
            system_id,
        )
        return [dict(row) for row in rows]

    async def published(self, system: str) -> list[Row]:
        """The keys a DID document lists, current and previous, oldest first, of the system
        with this slug (its DID names the slug: a DID document is looked up by it)."""
        rows = await self._conn.fetch(
            "SELECT id, type, public_key FROM signing_keys"
            " WHERE system = $1 AND status <> 'retired' ORDER BY created_at, type",
            system,
        )
        return [dict(row) for row in rows]

    async def retire(self, system_id: int, key_id: str) -> Row | None:
        """Retire a previous key (or find it retired already); None when the system has no
        such key. A current key is returned as it is: the caller refuses it."""
        row = await self._conn.fetchrow(
            "UPDATE signing_keys SET status = 'retired', retired_at = now()"
            " WHERE system_id = $1 AND id = $2 AND status = 'previous'"
            " RETURNING id, type, status, public_key, created_at, retired_at",
            system_id,
            key_id,
        )
        if row is None:
            row = await self._conn.fetchrow(
                "SELECT id, type, status, public_key, created_at, retired_at FROM signing_keys"
                " WHERE system_id = $1 AND id = $2",
                system_id,
                key_id,
            )
        return dict(row) if row is not None else None

    async def purge_system(self, system_id: int) -> None:
        await self._conn.execute("DELETE FROM signing_keys WHERE system_id = $1", system_id)
