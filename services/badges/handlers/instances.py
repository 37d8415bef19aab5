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
from collections.abc import Sequence
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
from services.badges.repository.instances import NewAward, NewCredential
from services.badges.repository.scopes import resolve
from shared.context import Context, Handler, chooses_commit
from shared.errors import NotFound
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
    shown_badge = shown(ctx, badge)
    new = await _award(
        ctx,
        badge,
        shown_badge,
        _planned(
            ctx,
            badge,
            shown_badge,
            email,
            comment=comment,
            issued_on=issued_on,
            expires=expires,
            claim_code=claim_code,
            slug=slug,
            evidence_url=evidence_url,
            holder=holder,
        ),
    )
    assert new is not None
    return new


class _Planned(NamedTuple):
    """An award with every value fixed before it is written: the row, the Open Campus body of
    the credential it starts (if any), and its answer."""

    award: NewAward
    credential_body: dict[str, Any] | None
    shown: dict[str, Any]


def _planned(
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
    holder: credentials.Holder | None = None,
) -> _Planned:
    """Check what can be checked before writing (dates, archived) and fix every value of the
    award. Its issuedOn is the service's clock (to the millisecond where it starts a credential,
    as Open Campus shows dates, so the stored award and its credential agree)."""
    now = datetime.now(UTC)
    domain.check_dates(issued_on, expires, now)
    if badge["archived"]:
        raise domain.archived(badge["slug"])
    issued = issued_on or now
    award_uid, credential, body = uuid.uuid4(), None, None
    if holder is not None:
        issued = credentials.to_millisecond(issued)
        request = credentials.issue_request(
            badge,
            shown_badge["imageUrl"],
            holder,
            award_uid=award_uid,
            email=email,
            issued_on=issued,
            expires=expires,
        )
        credential = NewCredential(uuid.uuid4(), holder.oc_id, holder.address, holder.name)
        body = request.to_wire()
    award = NewAward(
        uid=award_uid,
        slug=slug or uuid.uuid4().hex,
        badge_id=badge["id"],
        system_id=badge["system_id"],
        email=email,
        salt=secrets.token_hex(SALT_BYTES),
        issued_on=issued,
        expires=expires,
        claim_code=claim_code,
        comment=comment,
        evidence_url=evidence_url,
        unique=badge["is_unique"],
        credential=credential,
    )
    return _Planned(award, body, domain.instance(award.row(), ctx.deps.base_url))


def _emit_awarded(
    ctx: Ctx, badge: dict[str, Any], shown_badge: dict[str, Any], new: _Planned
) -> None:
    """The award's events: `badge.awarded`, and the command that issues its credential."""
    award = new.award
    ctx.emit(
        BadgeAwarded(
            system=badge["system"]["slug"],
            uid=award.slug,
            badge=shown_badge,
            email=award.email,
            assertion_url=new.shown["assertionUrl"],
            issued_on=domain.unix_seconds(award.issued_on),
            comment=award.comment,
            credential=new.shown.get("credential"),
        ),
        system_id=badge["system_id"],
    )
    if award.credential is not None and new.credential_body is not None:
        command = IssueCredential(
            credential_id=award.credential.id,
            system=badge["system"]["slug"],
            award_uid=award.uid,
            body=new.credential_body,
        )
        ctx.emit(command, system_id=badge["system_id"])


async def _award(
    ctx: Ctx,
    badge: dict[str, Any],
    shown_badge: dict[str, Any],
    new: _Planned,
    *,
    skip_held: bool = False,
    locked: bool = False,
) -> dict[str, Any] | None:
    """Write a planned award in the caller's transaction: its claim code consumed, the badge's
    limit checked under its lock, its events, its milestones' follow-up. With `skip_held`, None
    instead of a 409 when the email holds the (unique) badge; `locked` when the caller holds
    the badge's lock already."""
    award = new.award
    if ctx.system_id is None:
        ctx.system_id = badge["system_id"]
    if award.claim_code is not None:
        await consume(ctx, badge, shown_badge, award.claim_code, award.email)
    limit = domain.award_limit(badge)
    if limit is not None and not locked:
        # Locks are always taken recipient first, then badge: a milestone awarding this badge
        # holds the recipient's lock when it comes here, so the other order could deadlock.
        await milestones.lock_recipient(ctx.conn, badge["system_id"], award.email)
        await repository.lock_badge(ctx.conn, badge["id"])
    try:
        inserted = await repository.insert(ctx.conn, award, limit)
    except asyncpg.UniqueViolationError:
        raise slug_taken("badgeInstance", {"slug": award.slug, "email": award.email}) from None
    if not inserted:
        await _refused(ctx, badge, award.email, skip_held=skip_held)
        return None
    _emit_awarded(ctx, badge, shown_badge, new)
    from services.badges.handlers.milestones import after_award

    await after_award(ctx, badge, award.email)
    return new.shown


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


@chooses_commit
async def award_badge(cmd: AwardBadge, ctx: Ctx) -> dict[str, Any]:
    """An award commits in one statement (two round trips to Postgres instead of six) when all
    it does is insert the award and its events: no claim code to consume, no credential to
    start, no limit to check under a lock, no milestone to follow up. Otherwise, and with the
    same statement and events, in a transaction."""
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    holder = credentials.holder_of(badge, fields)
    shown_badge = shown(ctx, badge)
    new = _planned(
        ctx,
        badge,
        shown_badge,
        fields.email,
        comment=fields.comment,
        issued_on=fields.issued_on,
        expires=fields.expires,
        claim_code=fields.claim_code,
        slug=fields.slug,
        evidence_url=fields.evidence,
        holder=holder,
    )
    simple = (
        fields.claim_code is None
        and holder is None
        and domain.award_limit(badge) is None
        and not badge["supports_milestone"]
    )
    if not simple:
        await ctx.begin()
        awarded = await _award(ctx, badge, shown_badge, new)
        assert awarded is not None
        return awarded
    _emit_awarded(ctx, badge, shown_badge, new)
    try:
        inserted = await ctx.commit_at_once(
            repository.INSERT, *repository.insert_args(new.award, None), reply=new.shown
        )
    except asyncpg.UniqueViolationError:
        raise slug_taken("badgeInstance", {"slug": new.award.slug, "email": fields.email}) from None
    if inserted is None:
        await _refused(ctx, badge, fields.email, skip_held=False)
    return new.shown


async def award_badge_in_bulk(cmd: AwardBadgeInBulk, ctx: Ctx) -> list[dict[str, Any]]:
    """Award one badge to many emails at once: all or nothing, except that emails holding the
    (unique) badge already are skipped; the answer lists only the new awards."""
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    shown_badge = shown(ctx, badge)
    planned = [
        _planned(
            ctx,
            badge,
            shown_badge,
            email,
            comment=fields.comment,
            issued_on=fields.issued_on,
            expires=fields.expires,
        )
        for email in _once_each(fields.emails)
    ]
    if domain.award_limit(badge) is not None:
        # Recipients first, then the badge: the order every award takes them in.
        await milestones.lock_recipients(ctx.conn, badge["system_id"], list(fields.emails))
        await repository.lock_badge(ctx.conn, badge["id"])
    created = []
    for new in planned:
        awarded = await _award(ctx, badge, shown_badge, new, skip_held=True, locked=True)
        if awarded is not None:
            created.append(awarded)
    return created


def _once_each(emails: Sequence[str]) -> list[str]:
    """Each email once, case aside, in the order given."""
    unique: dict[str, str] = {}
    for email in emails:
        unique.setdefault(email.lower(), email)
    return list(unique.values())


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


HANDLERS: dict[type[Message], Handler[Deps]] = {
    AwardBadge: award_badge,
    AwardBadgeInBulk: award_badge_in_bulk,
    ListInstances: list_instances,
    GetInstance: get_instance,
    RevokeBadge: revoke_badge,
    ListInstancesByEmail: list_instances_by_email,
}
