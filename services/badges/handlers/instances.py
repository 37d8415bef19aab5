"""Awards (BadgeKit's badge instances): award, award in bulk, list, read, revoke.

`award` is the one way a badge is awarded (milestones call it too): it enforces what BadgeKit
never did (archived badges, `limit`, `unique`, `expires`), consumes a claim code in the same
transaction, and emits `badge.awarded`. An award of a badge with a `credential` that names a
holder also starts that credential: its Open Campus body is built and checked here, and the
issuer gets it as `issuer.issue_credential` through the outbox, in the award's transaction.
Revoking an award cancels its credential where it is not issued.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import asyncpg

from services.badges.domain import credentials
from services.badges.domain import instances as domain
from services.badges.domain.common import listing
from services.badges.errors import not_found, slug_taken
from services.badges.handlers.badges import find_badge, shown
from services.badges.handlers.claim_codes import consume
from services.badges.repository import instances as repository
from services.badges.repository import milestones
from services.badges.repository.instances import NewCredential
from services.badges.repository.scopes import resolve
from shared.errors import NotFound
from shared.handling import AtOnceHandler, Context, Handler, Recorded, commit_at_once
from shared.messages.base import Message
from shared.messages.credentials import CancelCredential, IssueCredential
from shared.messages.instances import (
    AwardBadge,
    AwardBadgeInBulk,
    BadgeAwarded,
    BadgeRevoked,
    GetInstance,
    ListInstances,
    ListInstancesByEmail,
    RevokeBadge,
)

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]

SALT_BYTES = 16


async def award(
    ctx: Ctx,
    badge: dict[str, Any],
    email: str,
    *,
    comment: str | None = None,
    issued_on: datetime | None = None,
    expires: datetime | None = None,
    claim_code: str | None = None,
    slug: str | None = None,
    evidence_url: str | None = None,
    holder: credentials.Holder | None = None,
) -> dict[str, Any]:
    """Award `badge` (a row of `repository.badges`) to `email` in the caller's transaction and
    return the award as responses show it; with `holder`, the award also issues the badge's
    credential to it. Raises 409 for an archived badge, a reached limit or a unique badge the
    email holds; 400/404 for a bad `expires` or claim code, or a credential Open Campus would
    refuse."""
    new = await _award(
        ctx,
        badge,
        shown(ctx, badge),
        email,
        comment=comment,
        issued_on=issued_on,
        expires=expires,
        claim_code=claim_code,
        slug=slug,
        evidence_url=evidence_url,
        holder=holder,
    )
    assert new is not None
    return new


async def _award(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    email: str,
    *,
    comment: str | None = None,
    issued_on: datetime | None = None,
    expires: datetime | None = None,
    claim_code: str | None = None,
    slug: str | None = None,
    evidence_url: str | None = None,
    skip_held: bool = False,
    locked: bool = False,
    holder: credentials.Holder | None = None,
) -> dict[str, Any] | None:
    """`award`, with `shown_badge` computed once by the caller; with `skip_held`, None instead
    of a 409 when the email holds the (unique) badge; `locked` when the caller holds the
    badge's lock already."""
    now = datetime.now(UTC)
    domain.check_dates(issued_on, expires, now)
    if badge["archived"]:
        raise domain.archived(badge["slug"])
    if ctx.system_id is None:
        ctx.system_id = badge["system_id"]
    started = None
    if holder is not None:
        # The credential's dates are the award's: fix issuedOn here (to the millisecond, as
        # Open Campus shows dates) so that the stored award and its credential agree.
        issued_on = credentials.to_millisecond(issued_on or now)
        started = _start_credential(badge, shown_badge, holder, email, issued_on, expires)
    if claim_code is not None:
        await consume(ctx, badge, shown_badge, claim_code, email)
    limit = domain.award_limit(badge)
    if limit is not None and not locked:
        # Locks are always taken recipient first, then badge: a milestone awarding this badge
        # holds the recipient's lock when it comes here, so the other order could deadlock.
        await milestones.lock_recipient(ctx.conn, badge["system_id"], email)
        await repository.lock_badge(ctx.conn, badge["id"])
    try:
        row = await repository.insert(
            ctx.conn,
            badge_id=badge["id"],
            system_id=badge["system_id"],
            email=email,
            slug=slug or uuid.uuid4().hex,
            salt=secrets.token_hex(SALT_BYTES),
            issued_on=issued_on,
            expires=expires,
            claim_code=claim_code,
            comment=comment,
            evidence_url=evidence_url,
            unique=badge["is_unique"],
            limit=limit,
            uid=started.award_uid if started else None,
            credential=started.columns if started else None,
        )
    except asyncpg.UniqueViolationError:
        raise slug_taken("badgeInstance", {"slug": slug, "email": email}) from None
    if row is None:
        await _refused(ctx, badge, email, skip_held=skip_held)
        return None
    new = domain.instance(row, ctx.deps.base_url)
    ctx.emit(
        BadgeAwarded(
            system=badge["system"]["slug"],
            uid=row["slug"],
            badge=shown_badge,
            email=row["email"],
            assertion_url=new["assertionUrl"],
            issued_on=domain.unix_seconds(row["issued_on"]),
            comment=comment,
            credential=new.get("credential"),
        ),
        system_id=badge["system_id"],
    )
    if started is not None:
        command = IssueCredential(
            credential_id=started.columns.id,
            system=badge["system"]["slug"],
            award_uid=started.award_uid,
            body=started.body,
        )
        ctx.emit(command, system_id=badge["system_id"])
    from services.badges.handlers.milestones import after_award

    await after_award(ctx, badge, email)
    return new


class _Started(NamedTuple):
    award_uid: uuid.UUID
    columns: NewCredential
    body: dict[str, Any]


def _start_credential(
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    holder: credentials.Holder,
    email: str,
    issued_on: datetime,
    expires: datetime | None,
) -> _Started:
    """The credential an award to `holder` starts: the award's uid (chosen here, as the
    credential's `issuerReferenceId` derives from it), the award's credential columns, and the
    Open Campus body, validated (400 when Open Campus would refuse it)."""
    award_uid = uuid.uuid4()
    request = credentials.issue_request(
        badge,
        shown_badge["imageUrl"],
        holder,
        award_uid=award_uid,
        email=email,
        issued_on=issued_on,
        expires=expires,
    )
    columns = NewCredential(uuid.uuid4(), holder.oc_id, holder.address, holder.name)
    return _Started(award_uid, columns, request.to_wire())


async def _refused(ctx: Ctx, badge: dict[str, Any], email: str, *, skip_held: bool) -> None:
    """Why the insert inserted nothing: the email holds the unique badge, or the limit."""
    held = (
        await repository.newest_active(ctx.conn, badge["id"], email) if badge["is_unique"] else None
    )
    if held is not None:
        if skip_held:
            return
        url = domain.assertion_url(ctx.deps.base_url, held["slug"])
        raise domain.already_awarded(email, badge["slug"], url)
    limit = domain.award_limit(badge)
    if limit is not None:
        raise domain.limit_reached(badge["slug"], limit)
    raise domain.already_awarded(email, badge["slug"], None)


async def award_badge(cmd: AwardBadge, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    holder = credentials.holder_of(badge, fields)
    return await award(
        ctx,
        badge,
        fields.email,
        comment=fields.comment,
        issued_on=fields.issued_on,
        expires=fields.expires,
        claim_code=fields.claim_code,
        slug=fields.slug,
        evidence_url=fields.evidence,
        holder=holder,
    )


async def award_badge_in_bulk(cmd: AwardBadgeInBulk, ctx: Ctx) -> list[dict[str, Any]]:
    """Award one badge to many emails at once: all or nothing, except that emails holding the
    (unique) badge already are skipped; the answer lists only the new awards."""
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    domain.check_dates(fields.issued_on, fields.expires, datetime.now(UTC))
    if badge["archived"]:
        raise domain.archived(badge["slug"])
    if domain.award_limit(badge) is not None:
        # Recipients first, then the badge: the order every award takes them in.
        await milestones.lock_recipients(ctx.conn, badge["system_id"], list(fields.emails))
        await repository.lock_badge(ctx.conn, badge["id"])
    shown_badge = shown(ctx, badge)
    emails: dict[str, str] = {}
    for email in fields.emails:  # once each, case aside, in the order given
        emails.setdefault(email.lower(), email)
    created = []
    for email in emails.values():
        new = await _award(
            ctx,
            badge,
            shown_badge,
            email,
            comment=fields.comment,
            issued_on=fields.issued_on,
            expires=fields.expires,
            skip_held=True,
            locked=True,
        )
        if new is not None:
            created.append(new)
    return created


async def list_instances(query: ListInstances, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    rows, total = await repository.of_badge(ctx.conn, badge["id"], query.page)
    shown_badge = shown(ctx, badge)
    base_url = ctx.deps.base_url
    return listing([domain.instance(row, base_url, shown_badge) for row in rows], total)


def _no_award(email: str) -> NotFound:
    return not_found("badgeInstance", "email", email)


async def get_instance(query: GetInstance, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    row = await repository.newest_active(ctx.conn, badge["id"], query.email)
    if row is None:
        raise _no_award(query.email)
    return domain.instance(row, ctx.deps.base_url, shown(ctx, badge))


async def revoke_badge(cmd: RevokeBadge, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    row = await repository.revoke_newest(ctx.conn, badge["id"], cmd.email)
    if row is None:
        raise _no_award(cmd.email)
    shown_badge = shown(ctx, badge)
    ctx.emit(
        BadgeRevoked(
            system=badge["system"]["slug"], uid=row["slug"], badge=shown_badge, email=row["email"]
        ),
        system_id=badge["system_id"],
    )
    if row["cancelled_credential"]:
        ctx.emit(
            CancelCredential(credential_id=uuid.UUID(row["credential_id"])),
            system_id=badge["system_id"],
        )
    return domain.instance(row, ctx.deps.base_url, shown_badge)


async def list_instances_by_email(query: ListInstancesByEmail, ctx: Ctx) -> dict[str, Any]:
    place = await resolve(ctx.conn, query.scope)
    ctx.system_id = place.system_id
    rows, total = await repository.of_email(ctx.conn, place, query.email, query.page)
    badges = await repository.badges(ctx.conn, sorted({row["badge_id"] for row in rows}))
    shown_badges = {badge_id: shown(ctx, badge) for badge_id, badge in badges.items()}
    base_url = ctx.deps.base_url
    return listing(
        [domain.instance(row, base_url, shown_badges[row["badge_id"]]) for row in rows], total
    )


# The common award in one statement, without a transaction (shared.handling.commit_at_once):
# two round trips to Postgres instead of six. Only for an award with no claim code and no
# credential, of a badge that is not archived and has no limit; the statement itself inserts
# nothing when the email holds the badge (unique) or the badge supports a milestone. In every
# other case nothing is written and `award_badge` runs in a transaction, as it always did.
_AWARD_AT_ONCE = """
INSERT INTO instances (uid, slug, system_id, badge_id, email, salt, issued_on, expires,
    claim_code, comment, evidence_url, unique_award)
SELECT $3::uuid, $4::text, $5::bigint, $1::bigint, $2::text, $6::text, $7::timestamptz,
    $8::timestamptz, NULL, $9::text, $10::text, $11::boolean
WHERE NOT ($11::boolean AND EXISTS (SELECT 1 FROM instances
        WHERE badge_id = $1 AND lower(email) = lower($2) AND revoked_at IS NULL))
    AND NOT EXISTS (SELECT 1 FROM milestone_badges WHERE badge_id = $1)
ON CONFLICT (badge_id, lower(email)) WHERE unique_award AND revoked_at IS NULL DO NOTHING
RETURNING id
"""


async def award_badge_at_once(cmd: AwardBadge, ctx: Ctx) -> Recorded | None:
    fields = cmd.award
    if fields.claim_code is not None or fields.holder_oc_id or fields.holder_address:
        return None
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    if badge["archived"] or domain.award_limit(badge) is not None:
        return None
    now = datetime.now(UTC)
    domain.check_dates(fields.issued_on, fields.expires, now)
    issued_on = fields.issued_on or now
    slug = fields.slug or uuid.uuid4().hex
    row = {
        "slug": slug,
        "email": fields.email,
        "expires": fields.expires,
        "issued_on": issued_on,
        "claim_code": None,
    }
    new = domain.instance(row, ctx.deps.base_url)
    ctx.emit(
        BadgeAwarded(
            system=badge["system"]["slug"],
            uid=slug,
            badge=shown(ctx, badge),
            email=fields.email,
            assertion_url=new["assertionUrl"],
            issued_on=domain.unix_seconds(issued_on),
            comment=fields.comment,
        ),
        system_id=badge["system_id"],
    )
    return await commit_at_once(
        ctx,
        _AWARD_AT_ONCE,
        badge["id"],
        fields.email,
        uuid.uuid4(),
        slug,
        badge["system_id"],
        secrets.token_hex(SALT_BYTES),
        issued_on,
        fields.expires,
        fields.comment,
        fields.evidence,
        badge["is_unique"],
        reply=new,
    )


AT_ONCE_HANDLERS: dict[type[Message], AtOnceHandler[Deps]] = {AwardBadge: award_badge_at_once}

HANDLERS: dict[type[Message], Handler[Deps]] = {
    AwardBadge: award_badge,
    AwardBadgeInBulk: award_badge_in_bulk,
    ListInstances: list_instances,
    GetInstance: get_instance,
    RevokeBadge: revoke_badge,
    ListInstancesByEmail: list_instances_by_email,
}
