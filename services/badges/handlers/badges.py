"""Badges in a system, an issuer or a program."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import credentials
from services.badges.domain.common import listing
from services.badges.errors import slug_taken
from services.badges.lookups import find_badge, milestones_for_badge, shown
from services.badges.repository.scopes import Place
from shared.context import Handler
from shared.errors import ValidationFailed
from shared.messages.badges import (
    BadgeChanges,
    BadgeFields,
    CreateBadge,
    DeleteBadge,
    GetBadge,
    ListBadges,
    ListPublicBadges,
    UpdateBadge,
)
from shared.messages.base import Message
from shared.messages.events import BadgeCreated, BadgeDeleted, BadgeUpdated


async def _write_children(ctx: Ctx, badge_id: int, fields: BadgeFields | BadgeChanges) -> None:
    """Nested lists are replaced only when the request gives them (BadgeKit wiped them)."""
    given = fields.model_fields_set
    repo = repository(ctx)
    if "criteria" in given and fields.criteria is not None:
        await repo.badges.replace_criteria(badge_id, fields.criteria)
    if "alignments" in given and fields.alignments is not None:
        await repo.badges.replace_alignments(badge_id, fields.alignments)
    if "categories" in given and fields.categories is not None:
        await repo.badges.replace_categories(badge_id, fields.categories)
    if "tags" in given and fields.tags is not None:
        await repo.badges.replace_tags(badge_id, fields.tags)


def _checked(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    """The badge as shown, once written: a badge with a credential must make a body Open Campus
    accepts (checked on the badge as stored; a problem rolls the write back)."""
    badge = shown(ctx, row)
    problems = credentials.badge_problems(row, badge["imageUrl"])
    if problems:
        raise ValidationFailed(problems)
    return badge


async def create_badge(cmd: CreateBadge, ctx: Ctx) -> dict[str, Any]:
    repo = repository(ctx)
    place = await repo.scopes.resolve(cmd.scope)
    ctx.system_id = place.system_id
    values = cmd.badge.model_dump()
    values["credential"] = credentials.stored(cmd.badge.credential)
    try:
        badge_id = await repo.badges.insert(place, values)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == credentials.IDENTIFIER_INDEX:
            raise credentials.identifier_taken(values["slug"] or "", "slug") from None
        raise slug_taken("badge", cmd.badge.to_data()) from None
    if cmd.image is not None:
        image_id = await repo.images.insert(place.system_id, cmd.image)
        await repo.badges.update(badge_id, {"image_id": image_id})
    await _write_children(ctx, badge_id, cmd.badge)
    badge = _checked(ctx, await repo.badges.get(badge_id))
    ctx.emit(BadgeCreated(system=place.system, badge=badge), system_id=place.system_id)
    return badge


async def get_badge(query: GetBadge, ctx: Ctx) -> dict[str, Any]:
    row = await find_badge(ctx, query.scope, query.slug)
    return {**shown(ctx, row), "milestones": await milestones_for_badge(ctx, row["id"])}


async def list_badges(query: ListBadges, ctx: Ctx) -> dict[str, Any]:
    repo = repository(ctx)
    place = await repo.scopes.resolve(query.scope)
    ctx.system_id = place.system_id
    rows, total = await repo.badges.in_place(place, query.archived, query.page)
    return listing([shown(ctx, row) for row in rows], total)


async def list_public_badges(query: ListPublicBadges, ctx: Ctx) -> dict[str, Any]:
    rows, total = await repository(ctx).badges.everywhere(query.archived, query.page)
    base = ctx.deps.base_url
    items = []
    for row in rows:
        path = f"/public/systems/{row['system']}"
        if row["issuer"]:
            path += f"/issuers/{row['issuer']}"
        if row["program"]:
            path += f"/programs/{row['program']}"
        items.append({"location": f"{base}{path}/badges/{row['slug']}"})
    return listing(items, total)


async def update_badge(cmd: UpdateBadge, ctx: Ctx) -> dict[str, Any]:
    row = await find_badge(ctx, cmd.scope, cmd.slug)
    repo = repository(ctx)
    values: dict[str, Any] = cmd.changes.model_dump(exclude_unset=True)
    if cmd.image is not None:
        values["image_id"] = await repo.images.insert(row["system_id"], cmd.image)
        values["image_url"] = None
    elif "image_url" in values:
        values["image_id"] = None
    if "credential" in values:
        values["credential"] = credentials.stored(cmd.changes.credential)
    try:
        await repo.badges.update(row["id"], values)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != credentials.IDENTIFIER_INDEX:
            raise
        raise credentials.identifier_taken(row["slug"], "credential") from None
    await _write_children(ctx, row["id"], cmd.changes)
    badge = _checked(ctx, await repo.badges.get(row["id"]))
    ctx.emit(BadgeUpdated(system=cmd.scope.system, badge=badge), system_id=row["system_id"])
    return badge


async def delete_badge(cmd: DeleteBadge, ctx: Ctx) -> dict[str, Any]:
    """Delete a badge and everything hanging off it: criteria, claim codes, awards,
    applications, milestones (foreign keys cascade)."""
    row = await find_badge(ctx, cmd.scope, cmd.slug)
    badge = shown(ctx, row)
    await repository(ctx).badges.delete(row["id"])
    ctx.emit(BadgeDeleted(system=cmd.scope.system, badge=badge), system_id=row["system_id"])
    return badge


async def delete_badges(ctx: Ctx, place: Place, badge_ids: list[int]) -> None:
    """Badges deleted with their issuer or program: each still announces its deletion."""
    repo = repository(ctx)
    for badge_id in badge_ids:
        badge = shown(ctx, await repo.badges.get(badge_id))
        await repo.badges.delete(badge_id)
        ctx.emit(BadgeDeleted(system=place.system, badge=badge), system_id=place.system_id)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    CreateBadge: create_badge,
    GetBadge: get_badge,
    ListBadges: list_badges,
    ListPublicBadges: list_public_badges,
    UpdateBadge: update_badge,
    DeleteBadge: delete_badge,
}
