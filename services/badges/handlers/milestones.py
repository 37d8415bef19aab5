"""Milestones: a primary badge awarded once enough of its support badges are held."""

from __future__ import annotations

from typing import Any

import structlog

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.lookups import shown_milestones
from services.badges.repository.scopes import Place
from shared.context import Handler
from shared.errors import ValidationFailed
from shared.messages.base import Message
from shared.messages.common import Scope
from shared.messages.events import MilestoneCreated, MilestoneDeleted, MilestoneUpdated
from shared.messages.milestones import (
    AddMilestoneBadge,
    CreateMilestone,
    DeleteMilestone,
    GetMilestone,
    ListMilestones,
    RemoveMilestoneBadge,
    UpdateMilestone,
)

log = structlog.get_logger()

# Milestone ids are bigints: a longer "id" in a path cannot name one.
_MAX_ID_DIGITS = 18


async def _system(ctx: Ctx, slug: str) -> Place:
    place = await repository(ctx).scopes.resolve(Scope(system=slug))
    ctx.system_id = place.system_id
    return place


async def _find(ctx: Ctx, place: Place, milestone_id: str) -> dict[str, Any]:
    """The milestone of this system with this id (as the path gives it), or BadgeKit's 404."""
    row = None
    if milestone_id.isascii() and milestone_id.isdigit() and len(milestone_id) <= _MAX_ID_DIGITS:
        row = await repository(ctx).milestones.find(place.system_id, int(milestone_id))
    if row is None:
        raise not_found("milestone", "id", milestone_id)
    return row


async def _reloaded(ctx: Ctx, place: Place, milestone_id: int) -> dict[str, Any]:
    row = await repository(ctx).milestones.find(place.system_id, milestone_id)
    assert row is not None
    return (await shown_milestones(ctx, [row]))[0]


async def _announced(
    ctx: Ctx,
    place: Place,
    milestone_id: int,
    event: type[MilestoneCreated] | type[MilestoneUpdated] = MilestoneUpdated,
) -> dict[str, Any]:
    """The milestone as changed, its change emitted (a badge shows its milestones)."""
    milestone = await _reloaded(ctx, place, milestone_id)
    ctx.emit(event(system=place.system, milestone=milestone), system_id=place.system_id)
    return milestone


async def _check_badges(ctx: Ctx, place: Place, named: list[tuple[str, int]]) -> None:
    """Every badge a milestone names must be a badge of its own system (BadgeKit accepted any
    id, another tenant's included)."""
    ids = [badge_id for _, badge_id in named]
    outside = await repository(ctx).milestones.badges_outside(place.system_id, ids)
    problems = [
        {"field": field, "value": badge_id, "message": "Not a badge of this system"}
        for field, badge_id in named
        if badge_id in outside
    ]
    if problems:
        raise ValidationFailed(problems)


def _named(primary: int | None, support: list[int] | None) -> list[tuple[str, int]]:
    named = [("primaryBadgeId", primary)] if primary is not None else []
    named += [(f"supportBadges.{n}", badge_id) for n, badge_id in enumerate(support or [])]
    return named


async def list_milestones(query: ListMilestones, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, query.system)
    rows, total = await repository(ctx).milestones.in_system(place.system_id, query.page)
    return listing(await shown_milestones(ctx, rows), total)


async def get_milestone(query: GetMilestone, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, query.system)
    return (await shown_milestones(ctx, [await _find(ctx, place, query.id)]))[0]


async def create_milestone(cmd: CreateMilestone, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, cmd.system)
    fields = cmd.milestone
    await _check_badges(ctx, place, _named(fields.primary_badge_id, fields.support_badges))
    repo = repository(ctx)
    milestone_id = await repo.milestones.insert(place.system_id, fields.model_dump())
    await repo.milestones.add_support(milestone_id, fields.support_badges)
    return await _announced(ctx, place, milestone_id, MilestoneCreated)


async def update_milestone(cmd: UpdateMilestone, ctx: Ctx) -> dict[str, Any]:
    """Change a milestone, validated as on create; its support badges are replaced only when
    `supportBadges` is given (BadgeKit wiped them, then failed)."""
    place = await _system(ctx, cmd.system)
    row = await _find(ctx, place, cmd.id)
    changes = cmd.changes
    await _check_badges(ctx, place, _named(changes.primary_badge_id, changes.support_badges))
    repo = repository(ctx)
    await repo.milestones.update(row["id"], changes.model_dump(exclude_unset=True))
    if changes.support_badges is not None:
        await repo.milestones.replace_support(row["id"], changes.support_badges)
    return await _announced(ctx, place, row["id"])


async def delete_milestone(cmd: DeleteMilestone, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, cmd.system)
    row = await _find(ctx, place, cmd.id)
    milestone = (await shown_milestones(ctx, [row]))[0]
    await repository(ctx).milestones.delete(row["id"])
    ctx.emit(MilestoneDeleted(system=place.system, milestone=milestone), system_id=place.system_id)
    return milestone


async def add_milestone_badge(cmd: AddMilestoneBadge, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, cmd.system)
    row = await _find(ctx, place, cmd.id)
    await _check_badges(ctx, place, [("badgeId", cmd.badge_id)])
    await repository(ctx).milestones.add_support(row["id"], [cmd.badge_id])
    return await _announced(ctx, place, row["id"])


async def remove_milestone_badge(cmd: RemoveMilestoneBadge, ctx: Ctx) -> dict[str, Any]:
    place = await _system(ctx, cmd.system)
    row = await _find(ctx, place, cmd.id)
    await repository(ctx).milestones.remove_support(row["id"], cmd.badge_id)
    return await _announced(ctx, place, row["id"])


HANDLERS: dict[type[Message], Handler[Deps]] = {
    ListMilestones: list_milestones,
    GetMilestone: get_milestone,
    CreateMilestone: create_milestone,
    UpdateMilestone: update_milestone,
    DeleteMilestone: delete_milestone,
    AddMilestoneBadge: add_milestone_badge,
    RemoveMilestoneBadge: remove_milestone_badge,
}
