"""Applying for a badge: an application stored and announced, whether a learner sent it or a
milestone queued it."""

from __future__ import annotations

from typing import Any

from services.badges.deps import Ctx, repository
from services.badges.lookups import shown_application
from shared.messages.applications import ApplicationFields, ApplicationSubmitted


async def submit(ctx: Ctx, badge: dict[str, Any], fields: ApplicationFields) -> dict[str, Any]:
    """Store a new application for `badge` (a row) and announce it."""
    repo = repository(ctx)
    application_id = await repo.applications.insert(
        badge["system_id"], badge["id"], fields.model_dump()
    )
    if fields.evidence:
        await repo.applications.replace_evidence(application_id, fields.evidence)
    application = shown_application(ctx, await repo.applications.get(application_id), badge)
    ctx.emit(
        ApplicationSubmitted(system=badge["system"]["slug"], application=application),
        system_id=badge["system_id"],
    )
    return application
