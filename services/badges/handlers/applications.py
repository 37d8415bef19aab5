"""Applications for a badge: a learner asks for it, with evidence; reviewers then review it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.badges import applying
from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import applications as present
from services.badges.domain.common import listing
from services.badges.lookups import find_application, find_badge, shown, shown_application
from services.badges.repository.scopes import Place
from shared.context import Handler
from shared.messages.applications import (
    CreateApplication,
    DeleteApplication,
    GetApplication,
    ListApplications,
    UpdateApplication,
)
from shared.messages.base import Message


async def create_application(cmd: CreateApplication, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    return await applying.submit(ctx, badge, cmd.application)


async def get_application(query: GetApplication, ctx: Ctx) -> dict[str, Any]:
    badge, row = await find_application(ctx, query.scope, query.badge, query.slug)
    return shown_application(ctx, row, badge)


async def list_applications(query: ListApplications, ctx: Ctx) -> dict[str, Any]:
    repo = repository(ctx)
    badge_id = None
    if query.badge is not None:
        badge = await find_badge(ctx, query.scope, query.badge)
        place, badge_id = Place(badge["system_id"], query.scope.system), badge["id"]
    else:
        place = await repo.scopes.resolve(query.scope)
        ctx.system_id = place.system_id
    rows, total = await repo.applications.listing(
        place,
        badge_id=badge_id,
        processed=query.processed,
        email=query.email,
        page=query.page,
    )
    badges = await repo.milestones.badges_by_id({row["badge_id"] for row in rows})
    shown_badges = {badge_id: shown(ctx, badge) for badge_id, badge in badges.items()}
    return listing([present.application(row, shown_badges[row["badge_id"]]) for row in rows], total)


async def update_application(cmd: UpdateApplication, ctx: Ctx) -> dict[str, Any]:
    badge, row = await find_application(ctx, cmd.scope, cmd.badge, cmd.slug)
    changes = cmd.changes
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"evidence"})
    processed = changes.processed
    if "processed" in values and not isinstance(processed, datetime):
        # Marking a processed application processed again keeps the time it first was.
        values["processed"] = (row["processed"] or datetime.now(UTC)) if processed else None
    repo = repository(ctx)
    await repo.applications.update(row["id"], values)
    if "evidence" in changes.model_fields_set:
        await repo.applications.replace_evidence(row["id"], changes.evidence or [])
    return shown_application(ctx, await repo.applications.get(row["id"]), badge)


async def delete_application(cmd: DeleteApplication, ctx: Ctx) -> dict[str, Any]:
    """Delete an application with its evidence and its reviews (BadgeKit orphaned reviews)."""
    badge, row = await find_application(ctx, cmd.scope, cmd.badge, cmd.slug)
    application = shown_application(ctx, row, badge)
    await repository(ctx).applications.delete(row["id"])
    return application


HANDLERS: dict[type[Message], Handler[Deps]] = {
    ListApplications: list_applications,
    GetApplication: get_application,
    CreateApplication: create_application,
    UpdateApplication: update_application,
    DeleteApplication: delete_application,
}
