"""SQL of reviews of an application and their items (one per criterion reviewed)."""

from __future__ import annotations

import secrets
from typing import Any

from services.badges.repository.common import Statements, limit_clause
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


class Reviews(Statements):
    __slots__ = ()

    async def find(self, application_id: int, slug: str) -> dict[str, Any] | None:
        row = await self._conn.fetchrow(
            f"{SELECT} WHERE r.application_id = $1 AND r.slug = $2", application_id, slug
        )
        return dict(row) if row is not None else None

    async def get(self, review_id: int) -> dict[str, Any]:
        row = await self._conn.fetchrow(f"{SELECT} WHERE r.id = $1", review_id)
        assert row is not None
        return dict(row)

    async def of_application(
        self, application_id: int, page: Page | None
    ) -> tuple[list[dict[str, Any]], int]:
        rows = await self._conn.fetch(
            f"{SELECT} WHERE r.application_id = $1 ORDER BY r.created_at, r.id{limit_clause(page)}",
            application_id,
        )
        total = (
            await self._conn.fetchval(
                "SELECT count(*) FROM reviews WHERE application_id = $1", application_id
            )
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def criteria_of(self, badge_id: int) -> dict[int, bool]:
        """The badge's criteria: id -> required."""
        rows = await self._conn.fetch(
            "SELECT id, required FROM criteria WHERE badge_id = $1", badge_id
        )
        return {row["id"]: row["required"] for row in rows}

    async def insert(self, application_id: int, fields: dict[str, Any]) -> int:
        review_id: int = await self._conn.fetchval(
            "INSERT INTO reviews (slug, application_id, author, comment)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            secrets.token_hex(16),
            application_id,
            fields["author"],
            fields.get("comment"),
        )
        return review_id

    async def update(self, review_id: int, changes: dict[str, Any]) -> None:
        await self._update("reviews", review_id, changes, CHANGEABLE)

    async def replace_items(self, review_id: int, items: list[ReviewItemInput]) -> None:
        await self._conn.execute("DELETE FROM review_items WHERE review_id = $1", review_id)
        await self._conn.executemany(
            "INSERT INTO review_items (review_id, criterion_id, satisfied, comment)"
            " VALUES ($1, $2, $3, $4)",
            [(review_id, item.criterion_id, item.satisfied, item.comment) for item in items],
        )

    async def delete(self, review_id: int) -> None:
        await self._conn.execute("DELETE FROM reviews WHERE id = $1", review_id)
