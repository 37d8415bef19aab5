"""SQL of milestones and their support badges, and of what the milestone auto-award reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.badges.repository.badges import SELECT as BADGE_SELECT
from services.badges.repository.common import Statements, limit_clause
from shared.messages.fields import Page

# Columns a PUT may set (milestone field name -> column); the id and the system never change.
CHANGEABLE = {
    "primary_badge_id": "primary_badge_id",
    "number_required": "number_required",
    "action": "action",
}

SELECT = """
SELECT m.id, m.system_id, m.primary_badge_id, m.number_required, m.action,
    array(SELECT mb.badge_id FROM milestone_badges mb WHERE mb.milestone_id = m.id
        ORDER BY mb.badge_id) AS support_badge_ids
FROM milestones m
"""


class Milestones(Statements):
    __slots__ = ()

    async def badges_by_id(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        """Badge rows (as `repository.badges.get` gives them) by id, in one round trip."""
        if not ids:
            return {}
        rows = await self._conn.fetch(f"{BADGE_SELECT} WHERE b.id = ANY($1::bigint[])", list(ids))
        return {row["id"]: dict(row) for row in rows}

    async def badges_outside(self, system_id: int, ids: list[int]) -> set[int]:
        """Those of `ids` that are not badges of the system (unknown, or another tenant's)."""
        rows = await self._conn.fetch(
            "SELECT id FROM badges WHERE system_id = $1 AND id = ANY($2::bigint[])", system_id, ids
        )
        return set(ids) - {row["id"] for row in rows}

    async def find(self, system_id: int, milestone_id: int) -> dict[str, Any] | None:
        row = await self._conn.fetchrow(
            f"{SELECT} WHERE m.system_id = $1 AND m.id = $2", system_id, milestone_id
        )
        return dict(row) if row is not None else None

    async def in_system(
        self, system_id: int, page: Page | None
    ) -> tuple[list[dict[str, Any]], int]:
        rows = await self._conn.fetch(
            f"{SELECT} WHERE m.system_id = $1 ORDER BY m.id{limit_clause(page)}", system_id
        )
        total = (
            await self._conn.fetchval(
                "SELECT count(*) FROM milestones WHERE system_id = $1", system_id
            )
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def with_primary(self, badge_id: int) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            f"{SELECT} WHERE m.primary_badge_id = $1 ORDER BY m.id", badge_id
        )
        return [dict(row) for row in rows]

    async def supported_by(self, system_id: int, badge_id: int) -> list[dict[str, Any]]:
        """The milestones of the system that list the badge as a support badge."""
        rows = await self._conn.fetch(
            f"{SELECT} JOIN milestone_badges s ON s.milestone_id = m.id"
            " WHERE m.system_id = $1 AND s.badge_id = $2 ORDER BY m.id",
            system_id,
            badge_id,
        )
        return [dict(row) for row in rows]

    async def lock_recipient(self, system_id: int, email: str) -> None:
        """Serialise, until the transaction ends, the milestone checks of one recipient in a
        system: two awards committing at once then cannot both miss the milestone they complete
        together (the second waits, then reads the first's award). Two 32-bit keys: a key space
        apart from the migrations' 64-bit lock."""
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('plaudit.milestones'), hashtext($1))",
            f"{system_id}:{email.lower()}",
        )

    async def lock_recipients(self, recipients: Iterable[tuple[int, str]]) -> None:
        """`lock_recipient` for many recipients (system id, email) at once, always in the same
        order."""
        keys = sorted({f"{system_id}:{email.lower()}" for system_id, email in recipients})
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('plaudit.milestones'), hashtext(key))"
            " FROM unnest($1::text[]) AS key ORDER BY key",
            keys,
        )

    async def held_badges(self, system_id: int, email: str) -> set[int]:
        """The badges of the system that `email` holds: awarded and not revoked."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT badge_id FROM instances"
            " WHERE system_id = $1 AND lower(email) = lower($2) AND revoked_at IS NULL",
            system_id,
            email,
        )
        return {row["badge_id"] for row in rows}

    async def insert(self, system_id: int, fields: dict[str, Any]) -> int:
        milestone_id: int = await self._conn.fetchval(
            "INSERT INTO milestones (system_id, primary_badge_id, number_required, action)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            system_id,
            fields["primary_badge_id"],
            fields["number_required"],
            fields["action"],
        )
        return milestone_id

    async def update(self, milestone_id: int, changes: dict[str, Any]) -> None:
        await self._update("milestones", milestone_id, changes, CHANGEABLE)

    async def replace_support(self, milestone_id: int, badge_ids: list[int]) -> None:
        await self._conn.execute(
            "DELETE FROM milestone_badges WHERE milestone_id = $1", milestone_id
        )
        await self.add_support(milestone_id, badge_ids)

    async def add_support(self, milestone_id: int, badge_ids: list[int]) -> None:
        await self._conn.execute(
            "INSERT INTO milestone_badges (milestone_id, badge_id)"
            " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
            milestone_id,
            badge_ids,
        )

    async def remove_support(self, milestone_id: int, badge_id: int) -> None:
        await self._conn.execute(
            "DELETE FROM milestone_badges WHERE milestone_id = $1 AND badge_id = $2",
            milestone_id,
            badge_id,
        )

    async def delete(self, milestone_id: int) -> None:
        await self._conn.execute("DELETE FROM milestones WHERE id = $1", milestone_id)
