"""SQL of systems, issuers and programs: BadgeKit gives the three the same fields, so one set of
statements serves them, with the table as a parameter (never from user input)."""

from __future__ import annotations

from typing import Any, Literal

from services.badges.repository.common import Statements, limit_clause
from shared.messages.fields import Page

Table = Literal["systems", "issuers", "programs"]
FIELDS = ("slug", "name", "url", "description", "email", "image_url")
# PUT may change these columns, and no others: ids, slugs and parents never change.
CHANGEABLE = frozenset({"name", "url", "description", "email", "image_url", "image_id"})


def org_json(alias: str) -> str:
    """One organization row as a JSON object, with its uploaded image's slug."""
    return (
        f"json_build_object('id', {alias}.id, 'slug', {alias}.slug, 'url', {alias}.url,"
        f" 'name', {alias}.name, 'description', {alias}.description, 'email', {alias}.email,"
        f" 'image_url', {alias}.image_url,"
        f" 'image_slug', (SELECT slug FROM images WHERE id = {alias}.image_id))"
    )


def _programs_of(issuer: str) -> str:
    return (
        f"(SELECT coalesce(json_agg({org_json('p')} ORDER BY p.id), '[]'::json)"
        f" FROM programs p WHERE p.issuer_id = {issuer}.id)"
    )


def _issuers_of(system: str) -> str:
    issuer = f"({org_json('i')}::jsonb || jsonb_build_object('programs', {_programs_of('i')}))"
    return (
        f"(SELECT coalesce(json_agg({issuer} ORDER BY i.id), '[]'::json)"
        f" FROM issuers i WHERE i.system_id = {system}.id)"
    )


# What each kind shows besides its own fields: a system its issuers (each with its programs),
# an issuer its programs.
_NESTED = {
    "systems": f"{_issuers_of('o')} AS nested",
    "issuers": f"{_programs_of('o')} AS nested",
    "programs": "NULL::json AS nested",
}
_PARENT = {"systems": None, "issuers": "system_id", "programs": "issuer_id"}


def _select(table: Table) -> str:
    return f"SELECT o.id, {org_json('o')} AS org, {_NESTED[table]} FROM {table} o"


class Organizations(Statements):
    __slots__ = ()

    async def get(self, table: Table, row_id: int) -> dict[str, Any]:
        row = await self._conn.fetchrow(f"{_select(table)} WHERE o.id = $1", row_id)
        assert row is not None
        return {"org": row["org"], "nested": row["nested"]}

    async def find_id(self, table: Table, slug: str, parent_id: int | None) -> int | None:
        parent = _PARENT[table]
        if parent is None:
            found: int | None = await self._conn.fetchval(
                f"SELECT id FROM {table} WHERE slug = $1", slug
            )
        else:
            found = await self._conn.fetchval(
                f"SELECT id FROM {table} WHERE slug = $1 AND {parent} = $2", slug, parent_id
            )
        return found

    async def listing(
        self, table: Table, parent_id: int | None, page: Page | None
    ) -> tuple[list[dict[str, Any]], int]:
        parent = _PARENT[table]
        where, args = (f" WHERE o.{parent} = $1", [parent_id]) if parent else ("", [])
        rows = await self._conn.fetch(
            f"{_select(table)}{where} ORDER BY o.id{limit_clause(page)}", *args
        )
        if page is None:
            total = len(rows)
        else:
            total = await self._conn.fetchval(f"SELECT count(*) FROM {table} o{where}", *args)
        return [{"org": row["org"], "nested": row["nested"]} for row in rows], total

    async def insert(self, table: Table, parents: dict[str, int], fields: dict[str, Any]) -> int:
        columns = [*parents, *FIELDS]
        values = [*parents.values(), *(fields.get(name) for name in FIELDS)]
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        row_id: int = await self._conn.fetchval(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id",
            *values,
        )
        return row_id

    async def update(self, table: Table, row_id: int, changes: dict[str, Any]) -> None:
        columns = [column for column in changes if column in CHANGEABLE]
        assignments = "".join(f"{column} = ${i}, " for i, column in enumerate(columns, start=2))
        await self._conn.execute(
            f"UPDATE {table} SET {assignments}updated_at = now() WHERE id = $1",
            row_id,
            *(changes[column] for column in columns),
        )

    async def delete(self, table: Table, row_id: int) -> None:
        await self._conn.execute(f"DELETE FROM {table} WHERE id = $1", row_id)
