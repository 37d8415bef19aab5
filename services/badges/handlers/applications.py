"""Applications for a badge: a learner asks for it, with evidence; reviewers then review it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.badges.domain import applications as present
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.handlers.badges import find_badge, shown
from services.badges.repository import applications as repository
from services.badges.repository.milestones import badges_by_id
from services.badges.repository.scopes import Place, resolve
from shared.context import Context, Handler
from shared.messages.applications import (
    ApplicationFields,
    ApplicationSubmitted,
    CreateApplication,
    DeleteApplication,
    GetApplication,
    ListApplications,
    UpdateApplication,
)
from shared.messages.base import Message
from shared.messages.common import Scope

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]


async def find_application(
    ctx: Ctx, scope: Scope, badge_slug: str, slug: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The badge and the application a `{B}/applications/:slug` path names, or their 404."""
    badge = await find_badge(ctx, scope, badge_slug)
    row = await repository.find(ctx.conn, badge["id"], slug)
    if row is None:
        raise not_found("application", "slug", slug)
    return badge, row


def shown_application(ctx: Ctx, row: dict[str, Any], badge: dict[str, Any]) -> dict[str, Any]:
    """An application row as responses show it; `badge` is its badge's row."""
    return present.application(row, shown(ctx, badge))


async def submit(ctx: Ctx, badge: dict[str, Any], fields: ApplicationFields) -> dict[str, Any]:
    """Store a new application for `badge` (a row) and announce it."""
    application_id = await repository.insert(
        ctx.conn, badge["system_id"], badge["id"], fields.model_dump()
    )
    if fields.evidence:
        await repository.replace_evidence(ctx.conn, application_id, fields.evidence)
    application = shown_application(ctx, await repository.get(ctx.conn, application_id), badge)
    ctx.emit(
        ApplicationSubmitted(system=badge["system"]["slug"], application=application),
        system_id=badge["system_id"],
    )
    return application


async def create_application(cmd: CreateApplication, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    return await submit(ctx, badge, cmd.application)


async def get_application(query: GetApplication, ctx: Ctx) -> dict[str, Any]:
    badge, row = await find_application(ctx, query.scope, query.badge, query.slug)
    return shown_application(ctx, row, badge)


async def list_applications(query: ListApplications, ctx: Ctx) -> dict[str, Any]:
    badge_id = None
    if query.badge is not None:
        badge = await find_badge(ctx, query.scope, query.badge)
        place, badge_id = Place(badge["system_id"], query.scope.system), badge["id"]
    else:
        place = await resolve(ctx.conn, query.scope)
        ctx.system_id = place.system_id
    rows, total = await repository.listing(
        ctx.conn,
        place,
        badge_id=badge_id,
        processed=query.processed,
        email=query.email,
        page=query.page,
    )
    badges = await badges_by_id(ctx.conn, {row["badge_id"] for row in rows})
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
    await repository.update(ctx.conn, row["id"], values)
    if "evidence" in changes.model_fields_set:
        await repository.replace_evidence(ctx.conn, row["id"], changes.evidence or [])
    return shown_application(ctx, await repository.get(ctx.conn, row["id"]), badge)


async def delete_application(cmd: DeleteApplication, ctx: Ctx) -> dict[str, Any]:
    """Delete an application with its evidence and its reviews (BadgeKit orphaned reviews)."""
    badge, row = await find_application(ctx, cmd.scope, cmd.badge, cmd.slug)
    application = shown_application(ctx, row, badge)
    await repository.delete(ctx.conn, row["id"])
    return application


HANDLERS: dict[type[Message], Handler[Deps]] = {
    ListApplications: list_applications,
    GetApplication: get_application,
    CreateApplication: create_application,
    UpdateApplication: update_application,
    DeleteApplication: delete_application,
}
