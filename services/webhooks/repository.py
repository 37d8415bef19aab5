"""All SQL of the webhooks schema: `Repository`, built on a connection by whoever holds one (a
handler through `Deps.repository`, the dispatcher on its pool), and `FAN_OUT`, the statement a
fan-out commits at once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import inbox
from shared.db import Connection
from shared.envelope import Envelope
from shared.messages.fields import Page

Row = dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """One request to an endpoint and what came of it."""

    delivery_id: uuid.UUID
    status_code: int | None
    duration_ms: int
    response: str | None
    error: str | None


# PUT may change these columns.
CHANGEABLE = frozenset({"url", "events", "description", "format"})


def _page(page: Page | None) -> str:
    if page is None:
        return ""
    return f" LIMIT {int(page.count)} OFFSET {(int(page.page) - 1) * int(page.count)}"


def _takes(event: str) -> str:
    """Whether `endpoints` takes the event of `event` (a relation with its `system_id` and
    `type`): an enabled endpoint of its system that takes its type, in a format that has the
    event (BadgeKit's has only the types `$1` lists)."""
    return (
        f"endpoints.system_id = {event}.system_id AND endpoints.enabled"
        f" AND ('*' = ANY(endpoints.events) OR {event}.type = ANY(endpoints.events))"
        f" AND (endpoints.format <> 'badgekit' OR {event}.type = ANY($1::text[]))"
    )


# A batch of new events' deliveries, one per event and endpoint that takes it, each in the
# endpoint's format (`$2` the events' keys, their message ids; `$3` their standard payloads, `$4`
# BadgeKit's), due now; for `BatchContext.handle_at_once`, so nothing happens for a redelivery,
# and nothing at all is written for an event no endpoint takes (`FAN_OUT_WANTED`).
FAN_OUT = (
    "INSERT INTO deliveries (id, endpoint_id, system_id, event_id, event_type, payload,"
    " next_attempt_at)"
    f" SELECT gen_random_uuid(), endpoints.id, {inbox.FRESH}.system_id, {inbox.FRESH}.message_id,"
    f" {inbox.FRESH}.type,"
    " CASE endpoints.format WHEN 'badgekit' THEN payloads.badgekit ELSE payloads.standard END,"
    " now()"
    f" FROM {inbox.FRESH}"
    " JOIN unnest($2::uuid[], $3::bytea[], $4::bytea[]) AS payloads(key, standard, badgekit)"
    " USING (key)"
    f" JOIN endpoints ON {_takes(inbox.FRESH)}"
    " ON CONFLICT (event_id, endpoint_id) DO NOTHING RETURNING event_id AS key"
)
FAN_OUT_WANTED = f"EXISTS (SELECT FROM endpoints WHERE {_takes(inbox.EVENT)})"


# A delivery to attempt now.
_DUE = "status = 'pending' AND next_attempt_at <= now()"


def expired_deliveries(retention: timedelta) -> str:
    """The hourly pruning of the delivery log: deliveries settled (succeeded or failed) and
    untouched for `retention` go, their attempts with them (by cascade). A pending delivery
    stays whatever its age; a replayed one counts from its replay."""
    return (
        "DELETE FROM deliveries WHERE status <> 'pending'"
        f" AND updated_at < now() - make_interval(secs => {retention.total_seconds()!r})"
    )


class Repository:
    """The webhooks schema's statements, on the connection the repository is built with (in
    the caller's transaction, if it opened one)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def insert_endpoint(
        self,
        *,
        system_id: int,
        system: str,
        fields: dict[str, Any],
        secret_ciphertext: str,
    ) -> Row:
        row = await self._conn.fetchrow(
            "INSERT INTO endpoints (id, system_id, system, url, description, events, format,"
            " secret_ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            uuid.uuid4(),
            system_id,
            system,
            fields["url"],
            fields.get("description"),
            fields["events"],
            fields["format"],
            secret_ciphertext,
        )
        assert row is not None
        return dict(row)

    async def endpoint(self, system_id: int, endpoint_id: uuid.UUID) -> Row | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM endpoints WHERE id = $1 AND system_id = $2", endpoint_id, system_id
        )
        return dict(row) if row is not None else None

    async def endpoints(self, system_id: int, page: Page | None) -> tuple[list[Row], int]:
        rows = await self._conn.fetch(
            f"SELECT * FROM endpoints WHERE system_id = $1 ORDER BY created_at, id{_page(page)}",
            system_id,
        )
        total = (
            await self._conn.fetchval(
                "SELECT count(*) FROM endpoints WHERE system_id = $1", system_id
            )
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def update_endpoint(self, endpoint_id: uuid.UUID, changes: dict[str, Any]) -> None:
        columns = [column for column in changes if column in CHANGEABLE]
        assignments = "".join(f"{column} = ${i}, " for i, column in enumerate(columns, start=2))
        await self._conn.execute(
            f"UPDATE endpoints SET {assignments}updated_at = now() WHERE id = $1",
            endpoint_id,
            *(changes[column] for column in columns),
        )

    async def enable(self, endpoint_id: uuid.UUID) -> None:
        await self._conn.execute(
            "UPDATE endpoints SET enabled = true, disabled_reason = NULL, disabled_at = NULL,"
            " failing_since = NULL, updated_at = now() WHERE id = $1 AND NOT enabled",
            endpoint_id,
        )
        await self._log_endpoint(endpoint_id, "endpoint.enabled", None)

    async def disable(self, endpoint_id: uuid.UUID, reason: str) -> bool:
        """Disable an endpoint (once); its pending deliveries fail, to be recovered once it is
        fixed."""
        disabled = await self._conn.fetchval(
            "UPDATE endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(),"
            " updated_at = now() WHERE id = $1 AND enabled RETURNING true",
            endpoint_id,
            reason,
        )
        if disabled:
            await self._conn.execute(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL,"
                " updated_at = now()"
                " WHERE endpoint_id = $1 AND status = 'pending'",
                endpoint_id,
            )
            await self._log_endpoint(endpoint_id, "endpoint.disabled", {"reason": reason})
        return bool(disabled)

    async def _log_endpoint(self, endpoint_id: uuid.UUID, kind: str, detail: Any) -> None:
        await self._conn.execute(
            "INSERT INTO endpoint_events (endpoint_id, type, detail) VALUES ($1, $2, $3)",
            endpoint_id,
            kind,
            detail,
        )

    async def rotate_secret(
        self, endpoint_id: uuid.UUID, secret_ciphertext: str, overlap_s: float
    ) -> None:
        await self._conn.execute(
            "UPDATE endpoints SET previous_secret_ciphertext = secret_ciphertext,"
            " previous_secret_until = now() + $3 * interval '1 second',"
            " secret_ciphertext = $2, updated_at = now() WHERE id = $1",
            endpoint_id,
            secret_ciphertext,
            overlap_s,
        )
        await self._log_endpoint(endpoint_id, "endpoint.secret_rotated", None)

    async def delete_endpoint(self, endpoint_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM endpoints WHERE id = $1", endpoint_id)

    async def insert_deliveries(
        self,
        system_id: int,
        event_id: uuid.UUID,
        event_type: str,
        rows: list[tuple[uuid.UUID, bytes]],
    ) -> list[uuid.UUID]:
        """One delivery per (endpoint, payload), due now; a delivery of this event to an endpoint
        that exists already (a redelivered event) is kept as it is."""
        if not rows:
            return []
        inserted = await self._conn.fetch(
            "INSERT INTO deliveries (id, endpoint_id, system_id, event_id, event_type, payload,"
            " next_attempt_at)"
            " SELECT gen_random_uuid(), endpoint_id, $1, $2, $3, payload, now()"
            " FROM unnest($4::uuid[], $5::bytea[]) AS d(endpoint_id, payload)"
            " ON CONFLICT (event_id, endpoint_id) DO NOTHING RETURNING id",
            system_id,
            event_id,
            event_type,
            [endpoint_id for endpoint_id, _ in rows],
            [payload for _, payload in rows],
        )
        return [row["id"] for row in inserted]

    async def claim_due(
        self,
        limit: int,
        free: Mapping[uuid.UUID, int],
        free_elsewhere: int,
        lease_s: float,
    ) -> list[Row]:
        """Claim due deliveries, at most `limit`: of each endpoint at most its free slots in this
        process (`free`, or `free_elsewhere` for an endpoint not in it), so one slow endpoint
        never holds more than its own slots. The claim commits before any send: the attempt is
        counted and the delivery is due again after the lease, should this process die."""
        rows = await self._conn.fetch(
            # The endpoints with due deliveries, one index probe each (a loose index scan),
            # then the oldest due deliveries of each that has free slots: the cost follows the
            # endpoints waiting, not the backlog.
            "WITH RECURSIVE waiting AS ("
            f"  (SELECT endpoint_id FROM deliveries WHERE {_DUE}"
            "   ORDER BY endpoint_id LIMIT 1)"
            "  UNION ALL"
            "  SELECT (SELECT d.endpoint_id FROM deliveries d"
            f"   WHERE {_DUE} AND d.endpoint_id > w.endpoint_id ORDER BY d.endpoint_id LIMIT 1)"
            "  FROM waiting w WHERE w.endpoint_id IS NOT NULL),"
            " slots AS ("
            "  SELECT * FROM unnest($3::uuid[], $5::int[]) AS s(endpoint_id, free)),"
            " due AS ("
            "  SELECT d.id FROM waiting w LEFT JOIN slots s ON s.endpoint_id = w.endpoint_id"
            "  CROSS JOIN LATERAL (SELECT id, next_attempt_at FROM deliveries"
            f"    WHERE endpoint_id = w.endpoint_id AND {_DUE}"
            "    ORDER BY next_attempt_at LIMIT coalesce(s.free, $2)) d"
            "  WHERE w.endpoint_id IS NOT NULL"
            "  ORDER BY d.next_attempt_at LIMIT $1),"
            " claimed AS ("
            "  UPDATE deliveries d SET attempts = d.attempts + 1, updated_at = now(),"
            "    next_attempt_at = now() + $4 * interval '1 second'"
            # Due again in the lock's own condition: a row another claim committed after this
            # statement's snapshot is locked anyway (its lock was released), and only a
            # condition of the locking query is checked again on the row as it is now.
            f"  FROM (SELECT id FROM deliveries WHERE id IN (SELECT id FROM due) AND {_DUE}"
            "        FOR UPDATE SKIP LOCKED) locked"
            "  WHERE d.id = locked.id RETURNING d.*)"
            " SELECT c.*, e.url, e.format, e.enabled, e.secret_ciphertext,"
            "   CASE WHEN e.previous_secret_until > now() THEN e.previous_secret_ciphertext END"
            "     AS previous_secret_ciphertext"
            " FROM claimed c JOIN endpoints e ON e.id = c.endpoint_id",
            limit,
            free_elsewhere,
            list(free),
            lease_s,
            list(free.values()),
        )
        return [dict(row) for row in rows]

    async def lock_endpoints(self, endpoint_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Lock endpoints whose attempts are being recorded, in the order of their ids; those
        still there. The lock is shared (`KEY SHARE`: only a deletion waits for it, so attempts
        of one endpoint are recorded side by side), and taken before the deliveries are written,
        in a deletion's own order (the endpoint, then its deliveries by cascade), so the two
        never deadlock."""
        rows = await self._conn.fetch(
            "SELECT id FROM endpoints WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE",
            sorted(endpoint_ids),
        )
        return {row["id"] for row in rows}

    async def record_attempts(self, attempts: list[Attempt]) -> None:
        """One row per attempt, dated when its request went out."""
        await self._conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, at, status_code, duration_ms, response,"
            " error)"
            " SELECT delivery_id, now() - duration_ms * interval '1 millisecond', status_code,"
            " duration_ms, response, error"
            " FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[])"
            " AS a(delivery_id, status_code, duration_ms, response, error)",
            [attempt.delivery_id for attempt in attempts],
            [attempt.status_code for attempt in attempts],
            [attempt.duration_ms for attempt in attempts],
            [attempt.response for attempt in attempts],
            [attempt.error for attempt in attempts],
        )

    async def settle(self, settled: list[tuple[uuid.UUID, str, float | None]]) -> set[uuid.UUID]:
        """Each delivery's new status ((id, status, seconds to the next attempt) triples): a
        pending one is due again after its delay, one schedule step further; one no longer
        pending (its endpoint was disabled meanwhile) keeps its state. The ids of the deliveries
        still there."""
        rows = await self._conn.fetch(
            "UPDATE deliveries d SET updated_at = now(),"
            " status = CASE WHEN d.status = 'pending' THEN s.status ELSE d.status END,"
            " next_attempt_at = CASE WHEN d.status <> 'pending' THEN d.next_attempt_at"
            "   WHEN s.status = 'pending' THEN now() + coalesce(s.delay, 0) * interval '1 second'"
            "   END,"
            " schedule_step = d.schedule_step"
            "   + (CASE WHEN d.status = 'pending' AND s.status = 'pending' THEN 1 ELSE 0 END)"
            " FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS s(id, status, delay)"
            " WHERE d.id = s.id RETURNING d.id",
            [delivery_id for delivery_id, _, _ in settled],
            [status for _, status, _ in settled],
            [delay for _, _, delay in settled],
        )
        return {row["id"] for row in rows}

    async def endpoint_succeeded(self, endpoint_id: uuid.UUID) -> None:
        """Clear the endpoint's failing streak. `last_success_at` (for operators) is kept to the
        second: a healthy endpoint's row is not written by every delivery, which would make
        its attempts wait on each other."""
        await self._conn.execute(
            "UPDATE endpoints SET failing_since = NULL, last_success_at = now() WHERE id = $1"
            " AND (failing_since IS NOT NULL OR last_success_at IS NULL"
            " OR last_success_at < now() - interval '1 second')",
            endpoint_id,
        )

    async def endpoint_failed(self, endpoint_id: uuid.UUID) -> datetime:
        """Note a failure; when the endpoint started failing without a single success since."""
        since: datetime = await self._conn.fetchval(
            "UPDATE endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1"
            " RETURNING failing_since",
            endpoint_id,
        )
        return since

    async def deliveries(
        self, endpoint_id: uuid.UUID, status: str | None, page: Page | None
    ) -> tuple[list[Row], int]:
        where = "endpoint_id = $1" + (" AND status = $2" if status else "")
        args: list[Any] = [endpoint_id, *([status] if status else [])]
        rows = await self._conn.fetch(
            f"SELECT * FROM deliveries WHERE {where} ORDER BY created_at DESC, id{_page(page)}",
            *args,
        )
        total = (
            await self._conn.fetchval(f"SELECT count(*) FROM deliveries WHERE {where}", *args)
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def attempts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
        rows = await self._conn.fetch(
            "SELECT * FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY at, id",
            ids,
        )
        found: dict[uuid.UUID, list[Row]] = {delivery_id: [] for delivery_id in ids}
        for row in rows:
            found[row["delivery_id"]].append(dict(row))
        return found

    async def requeue(
        self,
        endpoint_id: uuid.UUID,
        *,
        delivery_id: uuid.UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[uuid.UUID]:
        """Make deliveries of an endpoint due now, their schedule started again: one (failed or
        succeeded: a replay), or every failed one created in a window. A replay keeps its
        webhook-id, so receivers that dedupe on it see it once."""
        rows = await self._conn.fetch(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = now(), schedule_step = 0,"
            " updated_at = now()"
            " WHERE endpoint_id = $1"
            " AND (status = 'failed' OR ($2::uuid IS NOT NULL AND status = 'succeeded'))"
            " AND ($2::uuid IS NULL OR id = $2)"
            " AND ($3::timestamptz IS NULL OR created_at >= $3)"
            " AND ($4::timestamptz IS NULL OR created_at < $4)"
            " RETURNING id",
            endpoint_id,
            delivery_id,
            since,
            until,
        )
        return [row["id"] for row in rows]

    async def purge_system(self, system_id: int, keep: Envelope) -> None:
        """Everything of a deleted system, its inbox rows included but `keep`'s (the
        deletion's own: it is what makes a redelivery of the deletion a no-op)."""
        await self._conn.execute("DELETE FROM endpoints WHERE system_id = $1", system_id)
        await inbox.forget_system(self._conn, system_id, keep)
