"""Finding what a message names, and showing it as responses do: a badge by its path (with the
404 of the first level that does not exist), an application of a badge, milestones."""

from __future__ import annotations

from typing import Any

from services.badges.deps import Ctx, repository
from services.badges.domain import applications as present_applications
from services.badges.domain import badges as present_badges
from services.badges.domain import milestones as present_milestones
from services.badges.errors import not_found
from shared.messages.common import Scope


async def find_badge(ctx: Ctx, scope: Scope, slug: str) -> dict[str, Any]:
    """The badge a `{B}` path names, or the 404 of the first level that does not exist."""
    repo = repository(ctx)
    row = await repo.badges.find(scope, slug)
    if row is None:
        await repo.scopes.resolve(scope)  # raises the 404 of a missing system, issuer or program
        raise not_found("badge", "slug", slug)
    ctx.system_id = row["system_id"]
    return row


def shown(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    """A badge row as responses show it."""
    return present_badges.badge(row, ctx.deps.base_url)


async def find_application(
    ctx: Ctx, scope: Scope, badge_slug: str, slug: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The badge and the application a `{B}/applications/:slug` path names, or their 404."""
    badge = await find_badge(ctx, scope, badge_slug)
    row = await repository(ctx).applications.find(badge["id"], slug)
    if row is None:
        raise not_found("application", "slug", slug)
    return badge, row


def shown_application(ctx: Ctx, row: dict[str, Any], badge: dict[str, Any]) -> dict[str, Any]:
    """An application row as responses show it; `badge` is its badge's row."""
    return present_applications.application(row, shown(ctx, badge))


async def shown_milestones(ctx: Ctx, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Milestone rows as responses show them, each with its badges."""
    found = await repository(ctx).milestones.badges_by_id(present_milestones.badge_ids(rows))
    shown_badges = {badge_id: shown(ctx, row) for badge_id, row in found.items()}
    return [present_milestones.milestone(row, shown_badges) for row in rows]


async def milestones_for_badge(ctx: Ctx, badge_id: int) -> list[dict[str, Any]]:
    """The milestones whose primary badge is `badge_id`, as responses show them."""
    return await shown_milestones(ctx, await repository(ctx).milestones.with_primary(badge_id))
