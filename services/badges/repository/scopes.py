"""Resolving BadgeKit's `/systems/:s[/issuers/:i[/programs/:p]]` to ids, in one round trip."""

from __future__ import annotations

from dataclasses import dataclass

from services.badges.errors import not_found
from services.badges.repository.common import Statements
from shared.messages.common import Scope


@dataclass(frozen=True)
class Place:
    system_id: int
    system: str
    issuer_id: int | None = None
    program_id: int | None = None


class Scopes(Statements):
    __slots__ = ()

    async def resolve(self, scope: Scope) -> Place:
        """The ids the scope names; 404 (naming the first missing level) when one does not exist."""
        row = await self._conn.fetchrow(
            "SELECT s.id AS system_id, i.id AS issuer_id, p.id AS program_id FROM systems s"
            " LEFT JOIN issuers i ON i.system_id = s.id AND i.slug = $2"
            " LEFT JOIN programs p ON p.issuer_id = i.id AND p.slug = $3"
            " WHERE s.slug = $1",
            scope.system,
            scope.issuer,
            scope.program,
        )
        if row is None:
            raise not_found("system", "slug", scope.system)
        if scope.issuer is not None and row["issuer_id"] is None:
            raise not_found("issuer", "slug", scope.issuer)
        if scope.program is not None and row["program_id"] is None:
            raise not_found("program", "slug", scope.program)
        return Place(row["system_id"], scope.system, row["issuer_id"], row["program_id"])
