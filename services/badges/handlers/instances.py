"""Awards (BadgeKit's badge instances): award, award in bulk, list, read, revoke.

Awarding itself is `services.badges.awarding`, the one way a badge is awarded (milestones and
claim codes go through it too). Revoking an award cancels its credential where it is not
issued.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.badges import awarding
from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import credentials
from services.badges.domain import instances as domain
from services.badges.domain.awarding import AwardRules
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.lookups import find_badge, shown
from services.badges.repository import instances
from shared.context import Handler, chooses_commit
from shared.errors import NotFound
from shared.messages.base import Message
from shared.messages.credentials import CancelCredential
from shared.messages.instances import (
    AwardBadge,
    AwardBadgeInBulk,
    BadgeRevoked,
    GetInstance,
    ListInstances,
    ListInstancesByEmail,
    RevokeBadge,
)


@chooses_commit
async def award_badge(cmd: AwardBadge, ctx: Ctx) -> dict[str, Any]:
    """A plain award commits in one statement (two round trips to Postgres instead of six);
    any other, with the same statement and events, in a transaction (`AwardRules`)."""
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    holder = credentials.holder_of(badge, fields)
    shown_badge = shown(ctx, badge)
    planned = awarding.plan(
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
    rules = AwardRules.of(badge)
    if not rules.commits_at_once(claim_code=fields.claim_code is not None, credential=bool(holder)):
        await ctx.begin()
        awarded = await awarding.write(ctx, badge, shown_badge, planned)
        assert awarded is not None
        return awarded
    awarding.emit_awarded(ctx, badge, shown_badge, planned)
    try:
        inserted = await ctx.commit_at_once(
            instances.INSERT, *instances.insert_args(planned.award, None), reply=planned.shown
        )
    except asyncpg.UniqueViolationError:
        raise awarding.taken(planned.award) from None
    if not inserted:
        await awarding.refused(ctx, badge, fields.email, skip_held=False)
    return planned.shown


async def award_badge_in_bulk(cmd: AwardBadgeInBulk, ctx: Ctx) -> list[dict[str, Any]]:
    """Award one badge to many emails at once: all or nothing, except that emails holding the
    (unique) badge already are skipped; the answer lists only the new awards."""
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    fields = cmd.award
    return await awarding.award_in_bulk(
        ctx,
        badge,
        fields.emails,
        comment=fields.comment,
        issued_on=fields.issued_on,
        expires=fields.expires,
    )


async def list_instances(query: ListInstances, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    rows, total = await repository(ctx).instances.of_badge(badge["id"], query.page)
    shown_badge = shown(ctx, badge)
    base_url = ctx.deps.base_url
    return listing([domain.instance(row, base_url, shown_badge) for row in rows], total)


def _no_award(email: str) -> NotFound:
    return not_found("badgeInstance", "email", email)


async def get_instance(query: GetInstance, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    row = await repository(ctx).instances.newest_active(badge["id"], query.email)
    if row is None:
        raise _no_award(query.email)
    return domain.instance(row, ctx.deps.base_url, shown(ctx, badge))


async def revoke_badge(cmd: RevokeBadge, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    row = await repository(ctx).instances.revoke_newest(badge["id"], cmd.email)
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
    repo = repository(ctx)
    place = await repo.scopes.resolve(query.scope)
    ctx.system_id = place.system_id
    rows, total = await repo.instances.of_email(place, query.email, query.page)
    badges = await repo.instances.badges(sorted({row["badge_id"] for row in rows}))
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
