"""SQL of badges and what they carry: criteria, alignments, categories, tags."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from services.badges.repository.common import Statements, limit_clause
from services.badges.repository.organizations import org_json
from services.badges.repository.scopes import Place
from shared.messages.badges import AlignmentInput, CriterionInput
from shared.messages.common import Scope
from shared.messages.fields import Page

Archived = Literal["true", "false", "any"]

# Columns a PUT may set (badge field name -> column); ids, slug and parents never change.
CHANGEABLE = {
    "name": "name",
    "strapline": "strapline",
    "earner_description": "earner_description",
    "consumer_description": "consumer_description",
    "criteria_url": "criteria_url",
    "unique": "is_unique",
    "archived": "archived",
    "issuer_url": "issuer_url",
    "rubric_url": "rubric_url",
    "image_url": "image_url",
    "image_id": "image_id",
    "time_value": "time_value",
    "time_units": "time_units",
    "limit": "award_limit",
    "type": "type",
    "evidence_type": "evidence_type",
    "credential": "credential",
}

# One badge with everything its response shows, in one round trip.
SELECT = f"""
SELECT b.id, b.slug, b.name, b.strapline, b.earner_description, b.consumer_description,
    b.issuer_url, b.rubric_url, b.criteria_url, b.time_value, b.time_units, b.award_limit,
    b.is_unique, b.archived, b.type, b.evidence_type, b.image_url, b.credential, b.created_at,
    b.system_id, b.issuer_id, b.program_id,
    (SELECT slug FROM images WHERE id = b.image_id) AS image_slug,
    b.supports_milestone,
    {org_json("s")} AS system,
    CASE WHEN i.id IS NULL THEN NULL ELSE {org_json("i")} END AS issuer,
    CASE WHEN p.id IS NULL THEN NULL ELSE {org_json("p")} END AS program,
    (SELECT coalesce(json_agg(json_build_object('id', c.id, 'description', c.description,
            'required', c.required, 'note', c.note) ORDER BY c.position), '[]'::json)
        FROM criteria c WHERE c.badge_id = b.id) AS criteria,
    (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'url', a.url,
            'description', a.description) ORDER BY a.position), '[]'::json)
        FROM alignments a WHERE a.badge_id = b.id) AS alignments,
    (SELECT coalesce(json_agg(bc.value ORDER BY bc.position), '[]'::json)
        FROM badge_categories bc WHERE bc.badge_id = b.id) AS categories,
    (SELECT coalesce(json_agg(json_build_object('id', t.id, 'value', t.value) ORDER BY t.id),
            '[]'::json)
        FROM badge_tags t WHERE t.badge_id = b.id) AS tags
FROM badges b
JOIN systems s ON s.id = b.system_id
LEFT JOIN issuers i ON i.id = b.issuer_id
LEFT JOIN programs p ON p.id = b.program_id
"""

_ARCHIVED = {"true": " AND b.archived", "false": " AND NOT b.archived", "any": ""}


def _in_place(place: Place, first: int) -> tuple[str, list[Any]]:
    """The condition that keeps the badges of a place and of everything under it."""
    clauses, args = [f"b.system_id = ${first}"], [place.system_id]
    if place.issuer_id is not None:
        clauses.append(f"b.issuer_id = ${first + len(args)}")
        args.append(place.issuer_id)
    if place.program_id is not None:
        clauses.append(f"b.program_id = ${first + len(args)}")
        args.append(place.program_id)
    return " AND ".join(clauses), args


def _distinct(values: list[str]) -> list[str]:
    """Empty and repeated values dropped, first occurrence kept (as BadgeKit does)."""
    return list(dict.fromkeys(value for value in values if value))


class Badges(Statements):
    __slots__ = ()

    async def find(self, scope: Scope, slug: str) -> dict[str, Any] | None:
        """The badge of this slug under the scope's system, issuer and program (by slugs, in one
        round trip); None when any of them does not match."""
        row = await self._conn.fetchrow(
            f"{SELECT} WHERE s.slug = $1 AND b.slug = $2"
            " AND ($3::text IS NULL OR i.slug = $3) AND ($4::text IS NULL OR p.slug = $4)",
            scope.system,
            slug,
            scope.issuer,
            scope.program,
        )
        return dict(row) if row is not None else None

    async def get(self, badge_id: int) -> dict[str, Any]:
        row = await self._conn.fetchrow(f"{SELECT} WHERE b.id = $1", badge_id)
        assert row is not None
        return dict(row)

    async def in_place(
        self, place: Place, archived: Archived, page: Page | None
    ) -> tuple[list[dict[str, Any]], int]:
        where, args = _in_place(place, 1)
        where += _ARCHIVED[archived]
        rows = await self._conn.fetch(
            f"{SELECT} WHERE {where} ORDER BY b.id{limit_clause(page)}", *args
        )
        total = (
            await self._conn.fetchval(f"SELECT count(*) FROM badges b WHERE {where}", *args)
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def everywhere(
        self, archived: Archived, page: Page | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Every system's badges (id, slug and place), for the public badge list."""
        where = "TRUE" + _ARCHIVED[archived]
        rows = await self._conn.fetch(
            "SELECT b.id, b.slug, s.slug AS system, i.slug AS issuer, p.slug AS program"
            " FROM badges b JOIN systems s ON s.id = b.system_id"
            " LEFT JOIN issuers i ON i.id = b.issuer_id LEFT JOIN programs p ON p.id = b.program_id"
            f" WHERE {where} ORDER BY b.id{limit_clause(page)}"
        )
        total = (
            await self._conn.fetchval(f"SELECT count(*) FROM badges b WHERE {where}")
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def ids_in(self, column: str, owner_id: int) -> list[int]:
        """Ids of the badges of an issuer or a program (`column` is ours, never user input)."""
        assert column in ("issuer_id", "program_id")
        rows = await self._conn.fetch(
            f"SELECT id FROM badges WHERE {column} = $1 ORDER BY id", owner_id
        )
        return [row["id"] for row in rows]

    async def insert(self, place: Place, fields: dict[str, Any]) -> int:
        """The new badge's id; `fields["credential"]` is the credential as stored (or None). A taken
        slug, or a taken Open Campus identifier, raises `asyncpg.UniqueViolationError`."""
        badge_id: int = await self._conn.fetchval(
            "INSERT INTO badges (system_id, issuer_id, program_id, slug, name, strapline,"
            " earner_description, consumer_description, criteria_url, is_unique, issuer_url,"
            " rubric_url, image_url, time_value, time_units, award_limit, type, evidence_type,"
            " credential)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
            " $18, $19) RETURNING id",
            place.system_id,
            place.issuer_id,
            place.program_id,
            fields.get("slug") or secrets.token_hex(16),
            fields["name"],
            fields.get("strapline"),
            fields["earner_description"],
            fields["consumer_description"],
            fields["criteria_url"],
            fields["unique"],
            fields.get("issuer_url"),
            fields.get("rubric_url"),
            fields.get("image_url"),
            fields.get("time_value"),
            fields.get("time_units"),
            fields.get("limit"),
            fields.get("type") or "",
            fields.get("evidence_type"),
            fields.get("credential"),
        )
        return badge_id

    async def update(self, badge_id: int, changes: dict[str, Any]) -> None:
        """Set the changeable columns given (`credential` as stored). A credential whose Open Campus
        identifier another badge of the system has raises `asyncpg.UniqueViolationError`."""
        columns = [
            (CHANGEABLE[name], value) for name, value in changes.items() if name in CHANGEABLE
        ]
        assignments = "".join(
            f"{column} = ${i}, " for i, (column, _) in enumerate(columns, start=2)
        )
        await self._conn.execute(
            f"UPDATE badges SET {assignments}updated_at = now() WHERE id = $1",
            badge_id,
            *(value if column != "type" else value or "" for column, value in columns),
        )

    async def delete(self, badge_id: int) -> None:
        await self._conn.execute("DELETE FROM badges WHERE id = $1", badge_id)

    async def replace_criteria(self, badge_id: int, items: list[CriterionInput]) -> None:
        """The badge's criteria become `items`: one with the `id` of an existing criterion of this
        badge is updated in place (review items keep pointing at it); the others are new; criteria
        left out are deleted. An `id` of another badge's criterion is treated as new."""
        rows = await self._conn.fetch("SELECT id FROM criteria WHERE badge_id = $1", badge_id)
        unused = {row["id"] for row in rows}
        updates, inserts = [], []
        for position, item in enumerate(items):
            if item.id in unused:
                unused.discard(item.id)
                updates.append((item.id, position, item.description, item.note, item.required))
            else:
                inserts.append((badge_id, position, item.description, item.note, item.required))
        if unused:
            await self._conn.execute(
                "DELETE FROM criteria WHERE id = ANY($1::bigint[])", list(unused)
            )
        await self._conn.executemany(
            "UPDATE criteria SET position = $2, description = $3, note = $4, required = $5"
            " WHERE id = $1",
            updates,
        )
        await self._conn.executemany(
            "INSERT INTO criteria (badge_id, position, description, note, required)"
            " VALUES ($1, $2, $3, $4, $5)",
            inserts,
        )

    async def replace_alignments(self, badge_id: int, items: list[AlignmentInput]) -> None:
        await self._conn.execute("DELETE FROM alignments WHERE badge_id = $1", badge_id)
        await self._conn.executemany(
            "INSERT INTO alignments (badge_id, position, name, url, description)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(badge_id, n, item.name, item.url, item.description) for n, item in enumerate(items)],
        )

    async def replace_categories(self, badge_id: int, values: list[str]) -> None:
        await self._conn.execute("DELETE FROM badge_categories WHERE badge_id = $1", badge_id)
        await self._conn.executemany(
            "INSERT INTO badge_categories (badge_id, position, value) VALUES ($1, $2, $3)",
            [(badge_id, n, value) for n, value in enumerate(_distinct(values))],
        )

    async def replace_tags(self, badge_id: int, values: list[str]) -> None:
        await self._conn.execute("DELETE FROM badge_tags WHERE badge_id = $1", badge_id)
        await self._conn.executemany(
            "INSERT INTO badge_tags (badge_id, value) VALUES ($1, $2)",
            [(badge_id, value) for value in _distinct(values)],
        )
