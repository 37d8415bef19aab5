"""Awards (BadgeKit's badge instances): award, award in bulk, list, read, revoke.

Awarding itself is `services.badges.awarding`, the one way a badge is awarded (milestones and
claim codes go through it too). Revoking an award cancels its credential where it is not
issued.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import asyncpg

from services.badges import awarding
from services.badges.deps import BatchCtx, Ctx, Deps, repository
from services.badges.domain import instances as domain
from services.badges.domain.awarding import AwardRules
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.lookups import find_badge, shown
from services.badges.repository import instances
from shared.context import MessageHandler, chooses_commit, handles_batches
from shared.errors import AppError, NotFound
from shared.messages.base import Message
from shared.messages.common import Scope
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


@handles_batches
@chooses_commit
async def award_badge(cmds: list[AwardBadge], batch: BatchCtx) -> list[Any]:
    """Awards that arrive together commit together, each with its own answer (a 409 for one is
    its alone): plain awards in one statement (`instances.INSERT` over all of them, with their
    events and stored replies: two round trips to Postgres for the batch, no transaction); when
    any award needs more (`AwardRules`), all of them in one transaction, each in a savepoint of
    its own, the same statement and events per award."""
    outcomes: list[Any] = [None] * len(cmds)
    planned: dict[int, _Award] = {}
    found: dict[tuple[Scope, str], dict[str, Any] | AppError] = {}
    at_once = True
    for i, (cmd, ctx) in enumerate(zip(cmds, batch.each, strict=True)):
        try:
            badge = await _badge_of(ctx, cmd, found)
            shown_badge = shown(ctx, badge)
            plan = awarding.plan_fields(ctx, badge, shown_badge, cmd.award)
        except AppError as error:
            outcomes[i] = error
            continue
        planned[i] = _Award(badge, shown_badge, plan)
        at_once = at_once and AwardRules.of(badge).commits_at_once(
            claim_code=plan.award.claim_code is not None,
            credential=plan.award.credential is not None,
        )
    if at_once:
        await _commit_at_once(batch, planned, outcomes)
    else:
        await batch.begin()
        await _write_each(batch, planned, outcomes)
    return outcomes


class _Award(NamedTuple):
    badge: dict[str, Any]
    shown_badge: dict[str, Any]
    planned: awarding.Planned


async def _badge_of(
    ctx: Ctx, cmd: AwardBadge, found: dict[tuple[Scope, str], dict[str, Any] | AppError]
) -> dict[str, Any]:
    """The badge an award names, read once per batch (or its 404)."""
    key = (cmd.scope, cmd.badge)
    if key not in found:
        try:
            found[key] = await find_badge(ctx, cmd.scope, cmd.badge)
        except AppError as error:
            found[key] = error
    badge = found[key]
    if isinstance(badge, AppError):
        raise badge
    ctx.system_id = badge["system_id"]
    return badge


async def _commit_at_once(batch: BatchCtx, planned: dict[int, _Award], outcomes: list[Any]) -> None:
    """The plain awards of a batch in one statement; why each it did not insert was refused."""
    if not planned:
        return
    for i, award in planned.items():
        awarding.emit_awarded(batch.each[i], award.badge, award.shown_badge, award.planned)
    every = range(len(batch.each))
    try:
        written = await batch.commit_at_once(
            instances.INSERT,
            *instances.insert_args(
                instances.in_key_order(award.planned.award for award in planned.values()), None
            ),
            keys=[planned[i].planned.award.uid if i in planned else None for i in every],
            replies=[planned[i].planned.shown if i in planned else None for i in every],
        )
    except asyncpg.UniqueViolationError:
        if len(batch.each) > 1:
            raise  # One award's taken slug: the dispatcher answers each alone, to say whose.
        (i,) = planned
        outcomes[i] = awarding.taken(planned[i].planned.award)
        return
    for i, award in planned.items():
        if written[i]:
            outcomes[i] = award.planned.shown
            continue
        try:
            await awarding.refused(
                batch.each[i], award.badge, award.planned.award.email, skip_held=False
            )
        except AppError as error:
            outcomes[i] = error


async def _write_each(batch: BatchCtx, planned: dict[int, _Award], outcomes: list[Any]) -> None:
    """The awards of a batch in its transaction, each in a savepoint of its own when there are
    others (alone, its error rolls the transaction back); with others, every lock is taken
    first (`awarding.lock_in_order`)."""
    alone = len(batch.each) == 1
    if not alone:
        await awarding.lock_in_order(
            batch.each[0], [(award.badge, award.planned.award) for award in planned.values()]
        )
    for i, award in planned.items():
        ctx = batch.each[i]
        if alone:
            written = await awarding.write(ctx, award.badge, award.shown_badge, award.planned)
            outcomes[i] = written
            continue
        try:
            async with repository(ctx).savepoint():
                outcomes[i] = await awarding.write(
                    ctx, award.badge, award.shown_badge, award.planned, locked=True
                )
        except AppError as error:
            ctx.events.clear()
            outcomes[i] = error


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


HANDLERS: dict[type[Message], MessageHandler[Deps]] = {
    AwardBadge: award_badge,
    AwardBadgeInBulk: award_badge_in_bulk,
    ListInstances: list_instances,
    GetInstance: get_instance,
    RevokeBadge: revoke_badge,
    ListInstancesByEmail: list_instances_by_email,
}
