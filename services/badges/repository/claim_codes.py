"""SQL of claim codes."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.badges.repository.common import Statements, limit_clause
from services.badges.repository.scopes import Place
from shared.messages.fields import Page

Record = asyncpg.Record

COLUMNS = "id, code, claimed, email, multiuse"


class ClaimCodes(Statements):
    __slots__ = ()

    async def listing(self, badge_id: int, page: Page | None) -> tuple[list[Record], int]:
        rows = await self._conn.fetch(
            f"SELECT {COLUMNS} FROM claim_codes WHERE badge_id = $1"
            f" ORDER BY id{limit_clause(page)}",
            badge_id,
        )
        total = (
            await self._conn.fetchval(
                "SELECT count(*) FROM claim_codes WHERE badge_id = $1", badge_id
            )
            if page
            else len(rows)
        )
        return rows, total

    async def insert(
        self,
        badge_id: int,
        code: str,
        *,
        claimed: bool,
        multiuse: bool,
        email: str | None,
    ) -> Record | None:
        """The new code; None when the badge already has it."""
        row: Record | None = await self._conn.fetchrow(
            "INSERT INTO claim_codes (badge_id, code, claimed, multiuse, email)"
            " VALUES ($1, $2, $3, $4, $5)"
            f" ON CONFLICT (badge_id, code) DO NOTHING RETURNING {COLUMNS}",
            badge_id,
            code,
            claimed,
            multiuse,
            email,
        )
        return row

    async def get(self, badge_id: int, code: str) -> Record | None:
        row: Record | None = await self._conn.fetchrow(
            f"SELECT {COLUMNS} FROM claim_codes WHERE badge_id = $1 AND code = $2", badge_id, code
        )
        return row

    async def delete(self, badge_id: int, code: str) -> Record | None:
        row: Record | None = await self._conn.fetchrow(
            f"DELETE FROM claim_codes WHERE badge_id = $1 AND code = $2 RETURNING {COLUMNS}",
            badge_id,
            code,
        )
        return row

    async def lock(self, codes: Iterable[tuple[int, str]]) -> None:
        """Lock the rows of these codes (badge id, code) until the transaction ends, always in
        the same order: what a batch of awards does before anything else, as a lone award's
        claim (its first write) does for its one code."""
        pairs = sorted(set(codes))
        await self._conn.execute(
            "SELECT 1 FROM claim_codes c"
            " JOIN unnest($1::bigint[], $2::text[]) AS p(badge_id, code)"
            " ON c.badge_id = p.badge_id AND c.code = p.code"
            " ORDER BY c.id FOR UPDATE OF c",
            [badge_id for badge_id, _ in pairs],
            [code for _, code in pairs],
        )

    async def claim(self, badge_id: int, code: str, email: str | None) -> Record | None:
        """Mark the code claimed (by `email`, when given); None when it does not exist or is a
        used single-use code. Concurrent claims of one single-use code queue on its row: the
        second finds it claimed."""
        row: Record | None = await self._conn.fetchrow(
            "UPDATE claim_codes SET claimed = true, email = coalesce($3, email)"
            " WHERE badge_id = $1 AND code = $2 AND (multiuse OR NOT claimed)"
            f" RETURNING {COLUMNS}",
            badge_id,
            code,
            email,
        )
        return row

    async def find_in_place(self, place: Place, code: str) -> Record | None:
        """The first code of that value among the badges of the place and below it, with its
        badge's id."""
        row: Record | None = await self._conn.fetchrow(
            "SELECT c.badge_id, c.claimed, c.multiuse FROM claim_codes c"
            " JOIN badges b ON b.id = c.badge_id"
            " WHERE c.code = $1 AND b.system_id = $2"
            " AND ($3::bigint IS NULL OR b.issuer_id = $3)"
            " AND ($4::bigint IS NULL OR b.program_id = $4)"
            " ORDER BY c.id LIMIT 1",
            code,
            place.system_id,
            place.issuer_id,
            place.program_id,
        )
        return row
