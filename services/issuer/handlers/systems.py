"""A deleted system: everything the issuer holds for it goes."""

from __future__ import annotations

import structlog

from services.issuer.deps import Ctx, Deps
from shared.context import Handler
from shared.messages.base import Message
from shared.messages.events import SystemDeleted

log = structlog.get_logger()


async def purge_system(event: SystemDeleted, ctx: Ctx) -> None:
    assert ctx.system_id is not None
    await ctx.deps.repository(ctx.conn).purge_system(ctx.system_id, keep=ctx.envelope)
    log.info("issuer.system_purged", system_id=ctx.system_id)


EVENT_HANDLERS: dict[type[Message], list[Handler[Deps]]] = {SystemDeleted: [purge_system]}
