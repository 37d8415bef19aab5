"""SQL of awards (BadgeKit's badge instances) and of the public documents that show them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.badges.repository.badges import SELECT as BADGE_SELECT
from services.badges.repository.common import Statements, limit_clause
from services.badges.repository.organizations import org_json
from services.badges.repository.scopes import Place
from shared.messages.common import Scope
from shared.messages.fields import Page

Record = asyncpg.Record

COLUMNS = (
    "id, badge_id, slug, email, issued_on, expires, claim_code, credential_id, credential_status,"
    " credential_vc_id"
)
_ACTIVE_OF = "badge_id = $1 AND lower(email) = lower($2) AND revoked_at IS NULL"

# One statement for awards, one in a transaction or many committed at once
# (`BatchContext.commit_at_once`), each given as an element of the parameters' arrays
# (`insert_args`). It inserts nothing for an award when the badge's limit of active awards is
# reached (the caller holds the badge's row lock, so the count is current; a limit is counted
# for one award at a time, since the count does not see the statement's own rows) or when the
# email actively holds a unique badge: the EXISTS sees committed awards (even of a badge made
# unique after them), the partial unique index catches a concurrent award of the same one, or
# one earlier in the same statement. It returns the `uid` of each award it inserted, `AS key`.
INSERT = """
INSERT INTO instances (uid, slug, system_id, badge_id, email, salt, issued_on, expires,
    claim_code, comment, evidence_url, unique_award, recipient_name, holder_oc_id,
    holder_address, credential_id, credential_status, narrative)
SELECT a.uid, a.slug, a.system_id, a.badge_id, a.email, a.salt, a.issued_on, a.expires,
    a.claim_code, a.comment, a.evidence_url, a.unique_award, a.recipient_name, a.holder_oc_id,
    a.holder_address, a.credential_id,
    CASE WHEN a.credential_id IS NULL THEN NULL ELSE 'pending' END, a.narrative
FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::text[],
        $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
        $12::boolean[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])
    AS a(badge_id, email, uid, slug, system_id, salt, issued_on, expires, claim_code, comment,
        evidence_url, unique_award, recipient_name, holder_oc_id, holder_address, credential_id,
        narrative)
WHERE ($18::integer IS NULL
        OR (SELECT count(*) FROM instances i
            WHERE i.badge_id = a.badge_id AND i.revoked_at IS NULL) < $18)
    AND NOT (a.unique_award AND EXISTS (SELECT 1 FROM instances i
        WHERE i.badge_id = a.badge_id AND lower(i.email) = lower(a.email)
            AND i.revoked_at IS NULL))
ON CONFLICT (badge_id, lower(email)) WHERE unique_award AND revoked_at IS NULL DO NOTHING
RETURNING uid AS key
"""


@dataclass(frozen=True)
class NewCredential:
    """The credential an award starts: its id, and who it goes to (`name` for an OCA only)."""

    id: uuid.UUID
    holder_oc_id: str | None
    holder_address: str | None
    name: str | None


@dataclass(frozen=True)
class NewAward:
    """An award about to be inserted, every value fixed beforehand (`issued_on` included), so
    that its answer and its events are known before the statement runs."""

    uid: uuid.UUID
    slug: str
    badge_id: int
    system_id: int
    email: str
    salt: str
    issued_on: datetime
    expires: datetime | None
    claim_code: str | None
    comment: str | None
    evidence_url: str | None
    unique: bool
    credential: NewCredential | None
    # The earner's name where the award gives one: shown on the award's page, sent in an OCA.
    name: str | None = None
    # How it was earned (Markdown), where the award gives it: an import's row may, a single
    # award may not (BadgeKit's fields). Its assertion's and its credential's `narrative`.
    narrative: str | None = None

    def row(self) -> dict[str, Any]:
        """The award as `COLUMNS` will read it once inserted."""
        credential = self.credential
        return {
            "badge_id": self.badge_id,
            "slug": self.slug,
            "email": self.email,
            "issued_on": self.issued_on,
            "expires": self.expires,
            "claim_code": self.claim_code,
            "credential_id": str(credential.id) if credential else None,
            "credential_status": "pending" if credential else None,
            "credential_vc_id": None,
        }


def in_key_order(awards: Iterable[NewAward]) -> list[NewAward]:
    """Awards in the order of the unique index they insert into (badge, email), those of one key
    in the order given (the sort is stable): two statements inserting the same pairs both ways
    round would each wait on the other's insert."""
    return sorted(awards, key=lambda award: (award.badge_id, award.email.lower()))


def insert_args(awards: Sequence[NewAward], limit: int | None) -> tuple[Any, ...]:
    """The parameters of `INSERT` for these awards (with `limit`, the badge's, for one award;
    None for none)."""
    credentials = [award.credential for award in awards]
    return (
        [award.badge_id for award in awards],
        [award.email for award in awards],
        [award.uid for award in awards],
        [award.slug for award in awards],
        [award.system_id for award in awards],
        [award.salt for award in awards],
        [award.issued_on for award in awards],
        [award.expires for award in awards],
        [award.claim_code for award in awards],
        [award.comment for award in awards],
        [award.evidence_url for award in awards],
        [award.unique for award in awards],
        [award.name or (award.credential.name if award.credential else None) for award in awards],
        [credential.holder_oc_id if credential else None for credential in credentials],
        [credential.holder_address if credential else None for credential in credentials],
        [str(credential.id) if credential else None for credential in credentials],
        [award.narrative for award in awards],
        limit,
    )


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in COLUMNS.split(","))


# Credentials a revocation cancels: those not issued (yet), a failed one included (it could
# still be retried). An issued one stays issued: Open Campus revokes only on-chain.
CANCELLABLE = ("pending", "failed")
# Statuses a `credential.failed` may replace: never `issued`, nor `cancelled` (it was revoked).
FAILABLE = ("pending", "failed")


class Instances(Statements):
    __slots__ = ()

    async def lock_badge(self, badge_id: int) -> None:
        """Serialise the awards of a badge that has a limit, until the transaction ends. NO KEY
        UPDATE leaves the foreign-key checks of other inserts (KEY SHARE) unblocked."""
        await self._conn.execute("SELECT 1 FROM badges WHERE id = $1 FOR NO KEY UPDATE", badge_id)

    async def insert(self, award: NewAward, limit: int | None) -> bool:
        """Insert the award (with a credential, its credential pending); False when the limit or
        uniqueness forbids it. A taken slug raises `asyncpg.UniqueViolationError`."""
        return await self._conn.fetchrow(INSERT, *insert_args([award], limit)) is not None

    async def insert_many(self, awards: Sequence[NewAward]) -> set[uuid.UUID]:
        """Insert awards without a limit to count, in one statement (in key order); the uids of
        those inserted (the others: their email holds the unique badge)."""
        rows = await self._conn.fetch(INSERT, *insert_args(in_key_order(awards), None))
        return {row["key"] for row in rows}

    async def newest_active(self, badge_id: int, email: str) -> Record | None:
        row: Record | None = await self._conn.fetchrow(
            f"SELECT {COLUMNS} FROM instances WHERE {_ACTIVE_OF} ORDER BY id DESC LIMIT 1",
            badge_id,
            email,
        )
        return row

    async def revoke_newest(self, badge_id: int, email: str) -> Record | None:
        """Mark the newest active award of the badge to the email revoked (the row stays), and its
        credential `cancelled` where it is not issued; `cancelled_credential` says whether it was
        cancelled now."""
        row: Record | None = await self._conn.fetchrow(
            "WITH target AS ("
            f" SELECT id, credential_status FROM instances WHERE {_ACTIVE_OF}"
            " ORDER BY id DESC LIMIT 1 FOR UPDATE)"
            " UPDATE instances i SET revoked_at = now(),"
            " credential_status = CASE WHEN i.credential_status = ANY($3::text[])"
            " THEN 'cancelled' ELSE i.credential_status END"
            " FROM target WHERE i.id = target.id AND i.revoked_at IS NULL"
            f" RETURNING {_prefixed('i')},"
            " coalesce(target.credential_status = ANY($3::text[]), false) AS cancelled_credential",
            badge_id,
            email,
            list(CANCELLABLE),
        )
        return row

    async def record_credential_outcome(
        self,
        credential_id: str,
        system_id: int | None,
        status: str,
        vc_id: str | None,
    ) -> bool:
        """Apply the issuer's outcome to the award holding the credential; False when no award of
        the system holds it, or the outcome changes nothing. `issued` always wins (a credential
        issued before its award was revoked is issued all the same); `failed` replaces only a
        pending or failed status (never an issued or cancelled one)."""
        updated = await self._conn.fetchval(
            "UPDATE instances SET credential_status = $2,"
            " credential_vc_id = coalesce($3, credential_vc_id)"
            " WHERE credential_id = $1 AND ($4::bigint IS NULL OR system_id = $4)"
            " AND ($2 = 'issued' OR credential_status = ANY($5::text[]))"
            " RETURNING true",
            credential_id,
            status,
            vc_id,
            system_id,
            list(FAILABLE),
        )
        return bool(updated)

    async def holds_credential(self, system_id: int, credential_id: str) -> bool:
        held = await self._conn.fetchval(
            "SELECT EXISTS (SELECT FROM instances WHERE credential_id = $1 AND system_id = $2)",
            credential_id,
            system_id,
        )
        return bool(held)

    async def of_badge(self, badge_id: int, page: Page | None) -> tuple[list[Record], int]:
        where = "badge_id = $1 AND revoked_at IS NULL"
        rows = await self._conn.fetch(
            f"SELECT {COLUMNS} FROM instances WHERE {where} ORDER BY id{limit_clause(page)}",
            badge_id,
        )
        total = (
            await self._conn.fetchval(f"SELECT count(*) FROM instances WHERE {where}", badge_id)
            if page
            else len(rows)
        )
        return rows, total

    async def of_email(
        self, place: Place, email: str, page: Page | None
    ) -> tuple[list[Record], int]:
        """The active awards to an email among the badges of the place and below it."""
        where = (
            " FROM instances i JOIN badges b ON b.id = i.badge_id"
            " WHERE i.system_id = $1 AND lower(i.email) = lower($2) AND i.revoked_at IS NULL"
            " AND ($3::bigint IS NULL OR b.issuer_id = $3)"
            " AND ($4::bigint IS NULL OR b.program_id = $4)"
        )
        args = (place.system_id, email, place.issuer_id, place.program_id)
        rows = await self._conn.fetch(
            f"SELECT {_prefixed('i')}{where} ORDER BY i.id{limit_clause(page)}", *args
        )
        total = await self._conn.fetchval(f"SELECT count(*){where}", *args) if page else len(rows)
        return rows, total

    async def take_open_badge_pending(self, limit: int) -> list[Record]:
        """Up to `limit` awards still marked for the Open Badges 3.0 backfill, oldest first,
        unmarked in the caller's transaction (which writes their commands); rows another
        transaction holds are skipped. Each with what its `badge.awarded` shows."""
        rows: list[Record] = await self._conn.fetch(
            "UPDATE instances i SET open_badge_pending = false FROM ("
            " SELECT id FROM instances WHERE open_badge_pending ORDER BY id LIMIT $1"
            " FOR UPDATE SKIP LOCKED) pending"
            f" WHERE i.id = pending.id RETURNING {_prefixed('i')}, i.system_id, i.salt,"
            " i.comment, i.evidence_url, i.narrative, i.revoked_at",
            limit,
        )
        return rows

    async def count_open_badge_pending(self) -> int:
        return int(
            await self._conn.fetchval("SELECT count(*) FROM instances WHERE open_badge_pending")
        )

    async def badges(self, badge_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Badges (as `repository.badges` reads them) by id."""
        rows = await self._conn.fetch(f"{BADGE_SELECT} WHERE b.id = ANY($1::bigint[])", badge_ids)
        return {row["id"]: dict(row) for row in rows}

    async def assertion(self, slug: str) -> Record | None:
        """An award with what its hosted assertion shows, and its badge's place (slugs) and
        image (a URL, or an uploaded image's slug)."""
        row: Record | None = await self._conn.fetchrow(
            "SELECT i.slug, i.email, i.salt, i.issued_on, i.expires, i.evidence_url, i.narrative,"
            " i.revoked_at, i.revocation_reason, i.recipient_name, b.slug AS badge,"
            " s.slug AS system, iss.slug AS issuer, p.slug AS program, b.image_url,"
            " (SELECT slug FROM images WHERE id = b.image_id) AS image_slug"
            " FROM instances i JOIN badges b ON b.id = i.badge_id"
            " JOIN systems s ON s.id = b.system_id"
            " LEFT JOIN issuers iss ON iss.id = b.issuer_id"
            " LEFT JOIN programs p ON p.id = b.program_id"
            " WHERE i.slug = $1",
            slug,
        )
        return row

    async def organizations(self, scope: Scope) -> Record | None:
        """The system, issuer and program a scope names (each a JSON object, or null when the
        scope names it and it does not exist); None when the system does not exist."""
        row: Record | None = await self._conn.fetchrow(
            f"SELECT {org_json('s')} AS system,"
            f" CASE WHEN i.id IS NULL THEN NULL ELSE {org_json('i')} END AS issuer,"
            f" CASE WHEN p.id IS NULL THEN NULL ELSE {org_json('p')} END AS program"
            " FROM systems s"
            " LEFT JOIN issuers i ON i.system_id = s.id AND i.slug = $2"
            " LEFT JOIN programs p ON p.issuer_id = i.id AND p.slug = $3"
            " WHERE s.slug = $1",
            scope.system,
            scope.issuer,
            scope.program,
        )
        return row
