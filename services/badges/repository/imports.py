"""SQL of imports (bulk awards from a file) and of their rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from services.badges.repository.common import Statements

Record = dict[str, Any]


def _one(row: asyncpg.Record | None) -> Record | None:
    return dict(row) if row is not None else None


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def _found(row: asyncpg.Record | None) -> Record:
    assert row is not None
    return dict(row)


COLUMNS = (
    "id, system_id, badge_id, state, dry_run, duplicates, notify, total, done, awarded, skipped,"
    " failed, problems, correlation_id, created_at, started_at, finished_at"
)
WITH_BADGE = f"{COLUMNS}, (SELECT slug FROM badges b WHERE b.id = badge_id) AS badge"
UNFINISHED = ("validating", "running")


@dataclass(frozen=True)
class StoredRow:
    """A row as the upload stores it: its award's fields as JSON (None when invalid), or its
    problems."""

    row: int
    email: str
    award: dict[str, Any] | None
    problems: list[dict[str, Any]] | None


@dataclass(frozen=True)
class Outcome:
    row: int
    outcome: str
    slug: str | None = None
    error: str | None = None


class Imports(Statements):
    __slots__ = ()

    async def create(
        self,
        import_id: uuid.UUID,
        system_id: int,
        badge_id: int,
        options: dict[str, Any],
        correlation_id: str,
    ) -> Record:
        row = await self._conn.fetchrow(
            "INSERT INTO imports (id, system_id, badge_id, state, dry_run, duplicates, notify,"
            " correlation_id) VALUES ($1, $2, $3, 'validating', $4, $5, $6, $7)"
            f" RETURNING {WITH_BADGE}",
            import_id,
            system_id,
            badge_id,
            options["dry_run"],
            options["duplicates"],
            options["notify"],
            correlation_id,
        )
        return _found(row)

    async def get(self, system_id: int, import_id: uuid.UUID) -> Record | None:
        row = await self._conn.fetchrow(
            f"SELECT {WITH_BADGE} FROM imports WHERE id = $1 AND system_id = $2",
            import_id,
            system_id,
        )
        return _one(row)

    async def of_system(self, system_id: int, state: str | None) -> list[Record]:
        rows = await self._conn.fetch(
            f"SELECT {WITH_BADGE} FROM imports WHERE system_id = $1"
            " AND ($2::text IS NULL OR state = $2) ORDER BY created_at DESC, id",
            system_id,
            state,
        )
        return [dict(row) for row in rows]

    async def add_rows(self, import_id: uuid.UUID, rows: Sequence[StoredRow]) -> None:
        """Store a chunk of the upload (a chunk sent again adds nothing): only while the import
        is still being uploaded."""
        await self._conn.execute(
            "INSERT INTO import_rows (import_id, row_number, email, award, problems)"
            " SELECT $1, r.row_number, r.email, r.award::jsonb, r.problems::jsonb"
            " FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[])"
            "   AS r(row_number, email, award, problems)"
            " WHERE EXISTS (SELECT FROM imports WHERE id = $1 AND state = 'validating')"
            " ON CONFLICT (import_id, row_number) DO NOTHING",
            import_id,
            [row.row for row in rows],
            [row.email for row in rows],
            # As JSON text: asyncpg would take a list of problems for an array dimension.
            [_json(row.award) for row in rows],
            [_json(row.problems) for row in rows],
        )

    async def lock(self, system_id: int, import_id: uuid.UUID) -> Record | None:
        """The import, locked until the transaction ends (the runner's batches wait)."""
        row = await self._conn.fetchrow(
            f"SELECT {WITH_BADGE} FROM imports WHERE id = $1 AND system_id = $2 FOR UPDATE",
            import_id,
            system_id,
        )
        return _one(row)

    async def mark_repeats(self, import_id: uuid.UUID) -> None:
        """Each valid row whose email (case aside) an earlier valid row has: which row."""
        await self._conn.execute(
            "UPDATE import_rows r SET repeats = f.first FROM ("
            " SELECT row_number,"
            "  min(row_number) OVER (PARTITION BY lower(award->>'email')) AS first"
            " FROM import_rows WHERE import_id = $1 AND award IS NOT NULL) f"
            " WHERE r.import_id = $1 AND r.row_number = f.row_number"
            " AND f.first < f.row_number",
            import_id,
        )

    async def counts(self, import_id: uuid.UUID) -> tuple[int, int]:
        """How many rows, and how many of them are valid."""
        row = await self._conn.fetchrow(
            "SELECT count(*) AS total, count(award) AS valid FROM import_rows WHERE import_id = $1",
            import_id,
        )
        counted = _found(row)
        return int(counted["total"]), int(counted["valid"])

    async def first_problems(self, import_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        """The problems of the first invalid rows, in row order, at most `limit`."""
        rows = await self._conn.fetch(
            "SELECT problems FROM import_rows WHERE import_id = $1 AND problems IS NOT NULL"
            " ORDER BY row_number LIMIT $2",
            import_id,
            limit,
        )
        return [problem for row in rows for problem in row["problems"]][:limit]

    async def set_validated(
        self,
        import_id: uuid.UUID,
        state: str,
        total: int,
        invalid: int,
        problems: list[dict[str, Any]],
    ) -> Record:
        """The upload's outcome: `validated` (a dry run: its invalid rows counted as failed) or
        `running` (started now)."""
        row = await self._conn.fetchrow(
            "UPDATE imports SET state = $2, total = $3, problems = $4,"
            " failed = CASE WHEN $2 = 'validated' THEN $5 ELSE 0 END,"
            " started_at = CASE WHEN $2 = 'running' THEN now() END,"
            " finished_at = CASE WHEN $2 = 'validated' THEN now() END"
            f" WHERE id = $1 RETURNING {WITH_BADGE}",
            import_id,
            state,
            total,
            problems,
            invalid,
        )
        return _found(row)

    async def delete(self, import_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM imports WHERE id = $1", import_id)

    async def finish(self, import_id: uuid.UUID, state: str) -> Record:
        row = await self._conn.fetchrow(
            "UPDATE imports SET state = $2, finished_at = now() WHERE id = $1"
            f" RETURNING {WITH_BADGE}",
            import_id,
            state,
        )
        return _found(row)

    async def results(self, import_id: uuid.UUID, after_row: int, limit: int) -> list[Record]:
        rows = await self._conn.fetch(
            "SELECT row_number, email, outcome, slug, error, problems FROM import_rows"
            " WHERE import_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
            import_id,
            after_row,
            limit,
        )
        return [dict(row) for row in rows]

    # The runner --------------------------------------------------------------------------------

    async def take_running(self) -> Record | None:
        """A running import no other runner holds, oldest first, locked until the transaction
        ends: one batch of its rows is run in that transaction."""
        row = await self._conn.fetchrow(
            f"SELECT {WITH_BADGE} FROM imports WHERE state = 'running'"
            " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        return _one(row)

    async def lock_running(self, import_id: uuid.UUID) -> Record | None:
        """The import if it is still running, locked until the transaction ends."""
        row = await self._conn.fetchrow(
            f"SELECT {WITH_BADGE} FROM imports WHERE id = $1 AND state = 'running' FOR UPDATE",
            import_id,
        )
        return _one(row)

    async def pending_rows(self, import_id: uuid.UUID, limit: int) -> list[Record]:
        rows = await self._conn.fetch(
            "SELECT row_number, email, award, problems, repeats FROM import_rows"
            " WHERE import_id = $1 AND outcome IS NULL ORDER BY row_number LIMIT $2",
            import_id,
            limit,
        )
        return [dict(row) for row in rows]

    async def holders(self, badge_id: int, emails: Sequence[str]) -> set[str]:
        """Which of the emails (lowercased) actively hold the badge."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT lower(email) AS email FROM instances"
            " WHERE badge_id = $1 AND lower(email) = ANY($2::text[]) AND revoked_at IS NULL",
            badge_id,
            [email.lower() for email in emails],
        )
        return {row["email"] for row in rows}

    async def record(self, import_id: uuid.UUID, outcomes: Sequence[Outcome]) -> None:
        """The outcomes of a batch of rows and the import's counts, in the batch's transaction
        (the one of its awards)."""
        await self._conn.execute(
            "WITH done AS (UPDATE import_rows r SET outcome = o.outcome, slug = o.slug,"
            "  error = o.error"
            " FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[])"
            "   AS o(row_number, outcome, slug, error)"
            " WHERE r.import_id = $1 AND r.row_number = o.row_number AND r.outcome IS NULL"
            " RETURNING r.outcome)"
            " UPDATE imports SET done = done + (SELECT count(*) FROM done),"
            " awarded = awarded + (SELECT count(*) FROM done WHERE outcome = 'awarded'),"
            " skipped = skipped + (SELECT count(*) FROM done WHERE outcome = 'skipped'),"
            " failed = failed + (SELECT count(*) FROM done WHERE outcome = 'failed')"
            " WHERE id = $1",
            import_id,
            [o.row for o in outcomes],
            [o.outcome for o in outcomes],
            [o.slug for o in outcomes],
            [o.error for o in outcomes],
        )
