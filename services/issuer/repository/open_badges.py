"""SQL of the signed Open Badges 3.0 credentials (`open_badges`) and their status lists
(`status_lists`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.db import Connection

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SignedCredential:
    """A credential signed for its status slot, to store (`OpenBadges.insert`)."""

    slug: str
    system_id: int
    status_list_id: str
    status_index: int
    document: str
    jwt: str


class OpenBadges:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def open_list(self, system_id: int) -> Row | None:
        """The system's newest list with room (read, not locked: the credential's insert counts
        its index against the list, see `insert`); None when no list has room."""
        row = await self._conn.fetchrow(
            "SELECT id, size FROM status_lists WHERE system_id = $1 AND used < capacity"
            " ORDER BY created_at DESC LIMIT 1",
            system_id,
        )
        return dict(row) if row is not None else None

    async def add_list(
        self, list_id: str, system_id: int, system: str, size: int, capacity: int, document: str
    ) -> None:
        """A new, empty list (its first index is counted by the credential's `insert`)."""
        await self._conn.execute(
            "INSERT INTO status_lists"
            " (id, system_id, system, size, capacity, used, revoked, document)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
            list_id,
            system_id,
            system,
            size,
            capacity,
            bytes(size // 8),
            document,
        )

    async def free_indexes(self, list_id: str, candidates: list[int]) -> list[int]:
        """Those of `candidates` no credential holds on the list, in their order."""
        taken = await self._conn.fetch(
            "SELECT status_index FROM open_badges"
            " WHERE status_list_id = $1 AND status_index = ANY($2::integer[])",
            list_id,
            candidates,
        )
        held = {row["status_index"] for row in taken}
        return [index for index in candidates if index not in held]

    async def signed(self, slugs: Sequence[str]) -> set[str]:
        """Which of these awards have their credential."""
        rows = await self._conn.fetch(
            "SELECT slug FROM open_badges WHERE slug = ANY($1::text[])", list(slugs)
        )
        return {row["slug"] for row in rows}

    async def insert(self, credentials: Sequence[SignedCredential]) -> dict[str, bool]:
        """Store signed credentials and count each on its list, in one statement: for each one
        stored, by slug, whether its award was revoked before (the caller then revokes it). One
        missing was not stored: its list reached its capacity, or another credential took its
        index, since they were drawn (draw again).

        The draws and the signing before it run unlocked, so concurrent batches of one system
        are not serialised through them; a list's count is raised by the credentials stored
        (it is exact), and a list may pass its capacity by the awards drawing at once."""
        rows = await self._conn.fetch(
            "WITH drawn AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[],"
            "  $4::integer[], $5::text[], $6::text[])"
            "  AS d (slug, system_id, list_id, index, document, jwt)),"
            " added AS (INSERT INTO open_badges"
            "  (slug, system_id, status_list_id, status_index, document, jwt)"
            "  SELECT d.slug, d.system_id, d.list_id, d.index, d.document, d.jwt"
            "  FROM drawn d JOIN status_lists l ON l.id = d.list_id AND l.used < l.capacity"
            "  ON CONFLICT (status_list_id, status_index) DO NOTHING"
            "  RETURNING slug, status_list_id),"
            " counted AS (UPDATE status_lists l SET used = l.used + c.n"
            "  FROM (SELECT status_list_id, count(*) AS n FROM added GROUP BY 1) c"
            "  WHERE l.id = c.status_list_id),"
            " early AS (DELETE FROM early_revocations"
            "  WHERE slug IN (SELECT slug FROM added) RETURNING slug)"
            " SELECT a.slug, a.slug IN (SELECT slug FROM early) AS revoked_early FROM added a",
            [c.slug for c in credentials],
            [c.system_id for c in credentials],
            [c.status_list_id for c in credentials],
            [c.status_index for c in credentials],
            [c.document for c in credentials],
            [c.jwt for c in credentials],
        )
        return {row["slug"]: bool(row["revoked_early"]) for row in rows}

    async def revoke_early(self, system_id: int, slug: str) -> None:
        await self._conn.execute(
            "INSERT INTO early_revocations (slug, system_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            slug,
            system_id,
        )

    async def by_slug(self, slug: str) -> Row | None:
        row = await self._conn.fetchrow(
            "SELECT slug, system_id, document, jwt, revoked_at FROM open_badges WHERE slug = $1",
            slug,
        )
        return dict(row) if row is not None else None

    async def revoke(self, system_id: int, slug: str) -> Row | None:
        """Mark the credential revoked and lock its list; None when there is no such credential,
        or it was revoked before."""
        row = await self._conn.fetchrow(
            "UPDATE open_badges SET revoked_at = now()"
            " WHERE system_id = $1 AND slug = $2 AND revoked_at IS NULL"
            " RETURNING status_list_id, status_index",
            system_id,
            slug,
        )
        if row is None:
            return None
        status = await self._conn.fetchrow(
            "SELECT id, revoked FROM status_lists WHERE id = $1 FOR UPDATE",
            row["status_list_id"],
        )
        assert status is not None
        return {"list_id": status["id"], "revoked": status["revoked"], "index": row["status_index"]}

    async def lists_of(self, system_id: int) -> list[Row]:
        """Every status list of the system with its bits, locked until the caller's commit."""
        rows = await self._conn.fetch(
            "SELECT id, revoked FROM status_lists WHERE system_id = $1 ORDER BY id FOR UPDATE",
            system_id,
        )
        return [dict(row) for row in rows]

    async def update_list(self, list_id: str, revoked: bytes, document: str) -> None:
        await self._conn.execute(
            "UPDATE status_lists SET revoked = $2, document = $3, updated_at = now() WHERE id = $1",
            list_id,
            revoked,
            document,
        )

    async def status_list(self, system_id: int, list_id: str) -> Row | None:
        row = await self._conn.fetchrow(
            "SELECT document, updated_at FROM status_lists WHERE system_id = $1 AND id = $2",
            system_id,
            list_id,
        )
        return dict(row) if row is not None else None

    async def status_list_by_slug(self, system: str, list_id: str) -> Row | None:
        row = await self._conn.fetchrow(
            "SELECT document FROM status_lists WHERE id = $1 AND system = $2", list_id, system
        )
        return dict(row) if row is not None else None

    async def purge_system(self, system_id: int) -> None:
        await self._conn.execute("DELETE FROM open_badges WHERE system_id = $1", system_id)
        await self._conn.execute("DELETE FROM early_revocations WHERE system_id = $1", system_id)
        await self._conn.execute("DELETE FROM status_lists WHERE system_id = $1", system_id)
