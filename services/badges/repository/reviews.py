"""SQL of reviews of an application and their items (one per criterion reviewed)."""

from __future__ import annotations

import secrets
from typing import Any

from services.badges.repository.common import limit_clause
from shared.db import Connection
from shared.messages.applications import ReviewItemInput
from shared.messages.fields import Page

CHANGEABLE = {"author": "author", "comment": "comment"}

SELECT = """
SELECT r.id, r.slug, r.application_id, r.author, r.comment,
    (SELECT coalesce(json_agg(json_build_object('criterion_id', ri.criterion_id,
            'satisfied', ri.satisfied, 'comment', ri.comment) ORDER BY ri.id), '[]'::json)
        FROM review_items ri WHERE ri.review_id = r.id) AS items
FROM reviews r
"""


async def find(conn: Connection, application_id: int, slug: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"{SELECT} WHERE r.application_id = $1 AND r.slug = $2", application_id, slug
    )
    return dict(row) if row is not None else None


async def get(conn: Connection, review_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(f"{SELECT} WHERE r.id = $1", review_id)
    assert row is not None
    return dict(row)


async def of_application(
    conn: Connection, application_id: int, page: Page | None
) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(
        f"{SELECT} WHERE r.application_id = $1 ORDER BY r.created_at, r.id{limit_clause(page)}",
        application_id,
    )
    total = (
        await conn.fetchval(
            "SELECT count(*) FROM reviews WHERE application_id = $1", application_id
        )
        if page
        else len(rows)
    )
    return [dict(row) for row in rows], total


async def criteria_of(conn: Connection, badge_id: int) -> dict[int, bool]:
    """The badge's criteria: id -> required."""
    rows = await conn.fetch("SELECT id, required FROM criteria WHERE badge_id = $1", badge_id)
    return {row["id"]: row["required"] for row in rows}


async def insert(conn: Connection, application_id: int, fields: dict[str, Any]) -> int:
    review_id: int = await conn.fetchval(
        "INSERT INTO reviews (slug, application_id, author, comment)"
        " VALUES ($1, $2, $3, $4) RETURNING id",
        secrets.token_hex(16),
        application_id,
        fields["author"],
        fields.get("comment"),
    )
    return review_id


async def update(conn: Connection, review_id: int, changes: dict[str, Any]) -> None:
    columns = [(CHANGEABLE[name], value) for name, value in changes.items() if name in CHANGEABLE]
    if not columns:
        return
    assignments = ", ".join(f"{column} = ${i}" for i, (column, _) in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE reviews SET {assignments} WHERE id = $1",
        review_id,
        *(value for _, value in columns),
    )


async def replace_items(conn: Connection, review_id: int, items: list[ReviewItemInput]) -> None:
    await conn.execute("DELETE FROM review_items WHERE review_id = $1", review_id)
    await conn.executemany(
        "INSERT INTO review_items (review_id, criterion_id, satisfied, comment)"
        " VALUES ($1, $2, $3, $4)",
        [(review_id, item.criterion_id, item.satisfied, item.comment) for item in items],
    )


async def delete(conn: Connection, review_id: int) -> None:
    await conn.execute("DELETE FROM reviews WHERE id = $1", review_id)
