"""SQL of systems and their API consumers."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.badges.repository.common import limit_clause
from shared.db import Connection
from shared.messages.fields import Page

Record = asyncpg.Record

SYSTEM_COLUMNS = "id, slug, name, url, description, email, image_url"
# PUT may change these columns, and no others: ids and slugs never change.
SYSTEM_CHANGEABLE = {"name", "url", "description", "email", "image_url"}
CONSUMER_COLUMNS = "api_key, description, created_at"


async def insert_system(conn: Connection, fields: dict[str, Any]) -> Record:
    row: Record | None = await conn.fetchrow(
        "INSERT INTO systems (slug, name, url, description, email, image_url)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SYSTEM_COLUMNS}",
        fields["slug"],
        fields["name"],
        fields["url"],
        fields.get("description"),
        fields.get("email"),
        fields.get("image_url"),
    )
    assert row is not None
    return row


async def get_system(conn: Connection, slug: str) -> Record | None:
    row: Record | None = await conn.fetchrow(
        f"SELECT {SYSTEM_COLUMNS} FROM systems WHERE slug = $1", slug
    )
    return row


async def list_systems(conn: Connection, page: Page | None) -> tuple[list[Record], int]:
    rows = await conn.fetch(f"SELECT {SYSTEM_COLUMNS} FROM systems ORDER BY id{limit_clause(page)}")
    total = await conn.fetchval("SELECT count(*) FROM systems") if page else len(rows)
    return rows, total


async def update_system(conn: Connection, slug: str, changes: dict[str, Any]) -> Record | None:
    columns = [column for column in changes if column in SYSTEM_CHANGEABLE]
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(columns, start=2))
    row: Record | None = await conn.fetchrow(
        f"UPDATE systems SET {assignments + ', ' if assignments else ''}updated_at = now()"
        f" WHERE slug = $1 RETURNING {SYSTEM_COLUMNS}",
        slug,
        *(changes[column] for column in columns),
    )
    return row


async def delete_system(conn: Connection, slug: str) -> Record | None:
    """Delete a system and everything it owns (foreign keys cascade), and its stored replies."""
    row: Record | None = await conn.fetchrow(
        f"DELETE FROM systems WHERE slug = $1 RETURNING {SYSTEM_COLUMNS}", slug
    )
    if row is not None:
        await conn.execute("DELETE FROM inbox WHERE system_id = $1", row["id"])
    return row


async def insert_consumer(
    conn: Connection,
    system_id: int,
    api_key: str,
    secret_ciphertext: str,
    description: str | None,
) -> Record:
    row: Record | None = await conn.fetchrow(
        "INSERT INTO consumers (system_id, api_key, secret_ciphertext, description)"
        f" VALUES ($1, $2, $3, $4) RETURNING {CONSUMER_COLUMNS}",
        system_id,
        api_key,
        secret_ciphertext,
        description,
    )
    assert row is not None
    return row


async def list_consumers(
    conn: Connection, system_id: int, page: Page | None
) -> tuple[list[Record], int]:
    rows = await conn.fetch(
        f"SELECT {CONSUMER_COLUMNS} FROM consumers WHERE system_id = $1"
        f" ORDER BY id{limit_clause(page)}",
        system_id,
    )
    total = (
        await conn.fetchval("SELECT count(*) FROM consumers WHERE system_id = $1", system_id)
        if page
        else len(rows)
    )
    return rows, total


async def delete_consumer(conn: Connection, system_id: int, api_key: str) -> Record | None:
    row: Record | None = await conn.fetchrow(
        f"DELETE FROM consumers WHERE system_id = $1 AND api_key = $2 RETURNING {CONSUMER_COLUMNS}",
        system_id,
        api_key,
    )
    return row


async def get_consumer_credentials(conn: Connection, api_key: str) -> Record | None:
    row: Record | None = await conn.fetchrow(
        "SELECT c.api_key, c.secret_ciphertext, s.id AS system_id, s.slug AS system"
        " FROM consumers c JOIN systems s ON s.id = c.system_id WHERE c.api_key = $1",
        api_key,
    )
    return row
