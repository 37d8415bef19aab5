"""SQL of applications and their evidence."""

from __future__ import annotations

import secrets
from typing import Any

from services.badges.repository.common import Statements, limit_clause
from services.badges.repository.scopes import Place
from shared.messages.applications import EvidenceInput, Processed
from shared.messages.fields import Page

# Columns a PUT may set (application field name -> column); slug, badge and system never change.
CHANGEABLE = {
    "learner": "learner",
    "assigned_to": "assigned_to",
    "assigned_expiration": "assigned_expiration",
    "processed": "processed",
}

SELECT = """
SELECT a.id, a.slug, a.system_id, a.badge_id, a.learner, a.created, a.assigned_to,
    a.assigned_expiration, a.processed,
    (SELECT coalesce(json_agg(json_build_object('url', e.url, 'mediaType', e.media_type,
            'reflection', e.reflection) ORDER BY e.position), '[]'::json)
        FROM evidence e WHERE e.application_id = a.id) AS evidence
FROM applications a
"""

_PROCESSED = {
    "true": " AND a.processed IS NOT NULL",
    "false": " AND a.processed IS NULL",
    "any": "",
}


class Applications(Statements):
    __slots__ = ()

    async def find(self, badge_id: int, slug: str) -> dict[str, Any] | None:
        row = await self._conn.fetchrow(
            f"{SELECT} WHERE a.badge_id = $1 AND a.slug = $2", badge_id, slug
        )
        return dict(row) if row is not None else None

    async def get(self, application_id: int) -> dict[str, Any]:
        row = await self._conn.fetchrow(f"{SELECT} WHERE a.id = $1", application_id)
        assert row is not None
        return dict(row)

    async def listing(
        self,
        place: Place,
        *,
        badge_id: int | None,
        processed: Processed,
        email: str | None,
        page: Page | None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The applications of one badge, or of every badge at or below the place's level."""
        clauses: list[str] = ["a.system_id = $1"]
        args: list[Any] = [place.system_id]
        for column, value in (
            ("b.issuer_id", place.issuer_id),
            ("b.program_id", place.program_id),
            ("a.badge_id", badge_id),
        ):
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if email is not None:
            args.append(email)
            clauses.append(f"lower(a.learner) = lower(${len(args)})")
        where = " AND ".join(clauses) + _PROCESSED[processed]
        joined = "JOIN badges b ON b.id = a.badge_id"
        rows = await self._conn.fetch(
            f"{SELECT} {joined} WHERE {where}"
            f" ORDER BY a.badge_id, a.created, a.id{limit_clause(page)}",
            *args,
        )
        total = (
            await self._conn.fetchval(
                f"SELECT count(*) FROM applications a {joined} WHERE {where}", *args
            )
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def pending(self, badge_id: int, learner: str) -> bool:
        """Whether the learner has an application for the badge that is not processed yet."""
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM applications WHERE badge_id = $1"
            " AND lower(learner) = lower($2) AND processed IS NULL)",
            badge_id,
            learner,
        )
        return found

    async def insert(self, system_id: int, badge_id: int, fields: dict[str, Any]) -> int:
        application_id: int = await self._conn.fetchval(
            "INSERT INTO applications (slug, system_id, badge_id, learner, assigned_to,"
            " assigned_expiration) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            secrets.token_hex(16),
            system_id,
            badge_id,
            fields["learner"],
            fields.get("assigned_to"),
            fields.get("assigned_expiration"),
        )
        return application_id

    async def update(self, application_id: int, changes: dict[str, Any]) -> None:
        await self._update("applications", application_id, changes, CHANGEABLE)

    async def replace_evidence(self, application_id: int, items: list[EvidenceInput]) -> None:
        await self._conn.execute("DELETE FROM evidence WHERE application_id = $1", application_id)
        await self._conn.executemany(
            "INSERT INTO evidence (application_id, position, url, media_type, reflection)"
            " VALUES ($1, $2, $3, $4, $5)",
            [
                (application_id, n, item.url, item.media_type, item.reflection)
                for n, item in enumerate(items)
            ],
        )

    async def delete(self, application_id: int) -> None:
        """Deletes the application; its evidence and reviews go with it (foreign keys cascade)."""
        await self._conn.execute("DELETE FROM applications WHERE id = $1", application_id)
