"""SQL of the Open Campus credentials: their rows, attempts, and the systems' Open Campus keys."""

from __future__ import annotations

import uuid
from typing import Any

from shared.db import Connection
from shared.messages.fields import Page

Row = dict[str, Any]


class Credentials:
    """Statements on the `credentials`, `attempts` and `api_keys` tables, on the connection the
    repository is built with (in the caller's transaction, if it opened one)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def insert(
        self,
        *,
        credential_id: uuid.UUID,
        system_id: int,
        system: str,
        reference: str,
        kind: str,
        award_uid: uuid.UUID | None,
        body: dict[str, Any],
        body_hash: str,
        correlation_id: str,
    ) -> tuple[bool, Row]:
        """Insert a pending credential due now; (False, the existing row) when this system used
        the issuerReferenceId before (or the award has its credential already)."""
        row = await self._conn.fetchrow(
            "INSERT INTO credentials (id, system_id, system, issuer_reference_id, kind, award_uid,"
            " body, body_hash, correlation_id, next_attempt_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())"
            " ON CONFLICT DO NOTHING RETURNING *",
            credential_id,
            system_id,
            system,
            reference,
            kind,
            award_uid,
            body,
            body_hash,
            correlation_id,
        )
        if row is not None:
            return True, dict(row)
        existing = await self._conn.fetchrow(
            "SELECT * FROM credentials WHERE (system_id = $1 AND issuer_reference_id = $2)"
            " OR award_uid = $3 OR id = $4",
            system_id,
            reference,
            award_uid,
            credential_id,
        )
        assert existing is not None
        return False, dict(existing)

    async def get(self, system_id: int, credential_id: uuid.UUID) -> Row | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM credentials WHERE id = $1 AND system_id = $2", credential_id, system_id
        )
        return dict(row) if row is not None else None

    async def listing(
        self, system_id: int, status: str | None, page: Page | None
    ) -> tuple[list[Row], int]:
        where = "system_id = $1" + (" AND status = $2" if status else "")
        args: list[Any] = [system_id, *([status] if status else [])]
        limit = ""
        if page is not None:
            limit = f" LIMIT {int(page.count)} OFFSET {(int(page.page) - 1) * int(page.count)}"
        rows = await self._conn.fetch(
            f"SELECT * FROM credentials WHERE {where} ORDER BY created_at, id{limit}", *args
        )
        total = (
            await self._conn.fetchval(f"SELECT count(*) FROM credentials WHERE {where}", *args)
            if page
            else len(rows)
        )
        return [dict(row) for row in rows], total

    async def attempts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
        rows = await self._conn.fetch(
            "SELECT * FROM attempts WHERE credential_id = ANY($1::uuid[]) ORDER BY number", ids
        )
        found: dict[uuid.UUID, list[Row]] = {credential_id: [] for credential_id in ids}
        for row in rows:
            found[row["credential_id"]].append(dict(row))
        return found

    async def claim_due(
        self,
        limit: int,
        lease_s: float,
        default_key: tuple[str, str] | None,
    ) -> list[Row]:
        """Claim up to `limit` due credentials for an attempt each, in one statement that commits
        before any call is made: the attempt is counted, the credential is due again after the
        lease (should this process die in the call), and a credential without a key yet is pinned
        to its system's key (or the default key, `(ciphertext, fingerprint)`)."""
        rows = await self._conn.fetch(
            "UPDATE credentials c SET attempts = c.attempts + 1,"
            "  next_attempt_at = now() + $2 * interval '1 second', updated_at = now(),"
            "  key_ciphertext = coalesce(c.key_ciphertext,"
            "    (SELECT ciphertext FROM api_keys WHERE system_id = c.system_id), $3),"
            "  key_fingerprint = coalesce(c.key_fingerprint,"
            "    (SELECT fingerprint FROM api_keys WHERE system_id = c.system_id), $4)"
            " FROM (SELECT id FROM credentials"
            " WHERE status = 'pending' AND next_attempt_at <= now()"
            "       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due"
            " WHERE c.id = due.id"
            " RETURNING c.*",
            limit,
            lease_s,
            default_key[0] if default_key else None,
            default_key[1] if default_key else None,
        )
        return [dict(row) for row in rows]

    async def postpone(self, credential_id: uuid.UUID, delay_s: float) -> None:
        """Give back a claimed attempt that was never made (its key's circuit breaker is open)."""
        await self._conn.execute(
            "UPDATE credentials SET attempts = attempts - 1,"
            " next_attempt_at = now() + $2 * interval '1 second'"
            " WHERE id = $1 AND status = 'pending'",
            credential_id,
            delay_s,
        )

    async def record_attempt(
        self,
        credential_id: uuid.UUID,
        number: int,
        *,
        status_code: int | None,
        duration_ms: int,
        outcome: str,
        response: str | None,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO attempts (credential_id, number, at, status_code, duration_ms, outcome,"
            " response) VALUES ($1, $2, now() - $4 * interval '1 millisecond', $3, $4, $5, $6)",
            credential_id,
            number,
            status_code,
            duration_ms,
            outcome,
            response,
        )

    async def settle(
        self,
        credential_id: uuid.UUID,
        *,
        status: str,
        vc_id: str | None = None,
        error: Any = None,
        next_attempt_in_s: float | None = None,
        not_sent: bool = False,
        refused: bool = False,
    ) -> Row | None:
        """The credential after an attempt. A credential cancelled meanwhile stays cancelled unless
        the attempt issued it (then it is issued: Open Campus has it)."""
        row = await self._conn.fetchrow(
            "UPDATE credentials SET status = $2, vc_id = coalesce($3, vc_id), error = $4,"
            "  next_attempt_at = CASE WHEN $2 = 'pending'"
            "    THEN now() + $5 * interval '1 second' END,"
            "  schedule_step = schedule_step + (CASE WHEN $2 = 'pending' THEN 1 ELSE 0 END),"
            "  not_sent = not_sent + $6::int, refused = refused + $7::int,"
            "  updated_at = now()"
            " WHERE id = $1 AND (status = 'pending' OR $2 = 'issued') RETURNING *",
            credential_id,
            status,
            vc_id,
            error,
            next_attempt_in_s or 0.0,
            not_sent,
            refused,
        )
        return dict(row) if row is not None else None

    async def cancel(self, credential_id: uuid.UUID) -> None:
        """The award was revoked: a credential not issued (pending, or failed and retryable) never
        will be. An attempt in flight may still issue it; then it is issued."""
        await self._conn.execute(
            "UPDATE credentials SET status = 'cancelled', next_attempt_at = NULL,"
            " updated_at = now()"
            " WHERE id = $1 AND status IN ('pending', 'failed')",
            credential_id,
        )

    async def retry(self, system_id: int, credential_id: uuid.UUID) -> Row | None:
        """A failed credential pending again, its schedule restarted; re-pinned to the key of the
        next attempt only when every attempt so far was refused outright (none can have issued it
        under the old key)."""
        row = await self._conn.fetchrow(
            "UPDATE credentials SET status = 'pending', error = NULL, next_attempt_at = now(),"
            "  schedule_step = 0, updated_at = now(),"
            "  key_ciphertext = CASE WHEN refused = attempts THEN NULL ELSE key_ciphertext END,"
            "  key_fingerprint = CASE WHEN refused = attempts THEN NULL ELSE key_fingerprint END"
            " WHERE id = $1 AND system_id = $2 AND status = 'failed' RETURNING *",
            credential_id,
            system_id,
        )
        return dict(row) if row is not None else None

    async def set_key(self, system_id: int, ciphertext: str, fingerprint: str, last4: str) -> None:
        await self._conn.execute(
            "INSERT INTO api_keys (system_id, ciphertext, fingerprint, last4)"
            " VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (system_id) DO UPDATE SET ciphertext = excluded.ciphertext,"
            "  fingerprint = excluded.fingerprint, last4 = excluded.last4, updated_at = now()",
            system_id,
            ciphertext,
            fingerprint,
            last4,
        )

    async def key_last4(self, system_id: int) -> str | None:
        last4: str | None = await self._conn.fetchval(
            "SELECT last4 FROM api_keys WHERE system_id = $1", system_id
        )
        return last4

    async def purge_system(self, system_id: int) -> None:
        await self._conn.execute("DELETE FROM credentials WHERE system_id = $1", system_id)
        await self._conn.execute("DELETE FROM api_keys WHERE system_id = $1", system_id)
