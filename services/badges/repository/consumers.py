"""SQL of API consumers, and what goes with a deleted system."""

from __future__ import annotations

import asyncpg

from services.badges.repository.common import Statements, limit_clause
from shared.messages.fields import Page

Record = asyncpg.Record

CONSUMER_COLUMNS = "api_key, description, created_at"


class Consumers(Statements):
    __slots__ = ()

    async def forget_replies(self, system_id: int) -> None:
        """Stored replies of a deleted system's requests hold its data: they go with it."""
        await self._conn.execute("DELETE FROM inbox WHERE system_id = $1", system_id)

    async def insert_consumer(
        self,
        system_id: int,
        api_key: str,
        secret_ciphertext: str,
        description: str | None,
    ) -> Record:
        row: Record | None = await self._conn.fetchrow(
            "INSERT INTO consumers (system_id, api_key, secret_ciphertext, description)"
            f" VALUES ($1, $2, $3, $4) RETURNING {CONSUMER_COLUMNS}",
            system_id,
            api_key,
            secret_ciphertext,
            description,
        )
        assert row is not None
        return row

    async def list_consumers(self, system_id: int, page: Page | None) -> tuple[list[Record], int]:
        rows = await self._conn.fetch(
            f"SELECT {CONSUMER_COLUMNS} FROM consumers WHERE system_id = $1"
            f" ORDER BY id{limit_clause(page)}",
            system_id,
        )
        total = (
            await self._conn.fetchval(
                "SELECT count(*) FROM consumers WHERE system_id = $1", system_id
            )
            if page
            else len(rows)
        )
        return rows, total

    async def delete_consumer(self, system_id: int, api_key: str) -> Record | None:
        row: Record | None = await self._conn.fetchrow(
            "DELETE FROM consumers WHERE system_id = $1 AND api_key = $2"
            f" RETURNING {CONSUMER_COLUMNS}",
            system_id,
            api_key,
        )
        return row

    async def get_consumer_credentials(self, api_key: str) -> Record | None:
        row: Record | None = await self._conn.fetchrow(
            "SELECT c.api_key, c.secret_ciphertext, s.id AS system_id, s.slug AS system"
            " FROM consumers c JOIN systems s ON s.id = c.system_id WHERE c.api_key = $1",
            api_key,
        )
        return row
