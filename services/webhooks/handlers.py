"""Handlers of the webhooks service.

For now it records the system events it is bound to (the inbox dedupes them); on
`system.deleted` it purges what it holds for the system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from shared.handling import Context, Handler
from shared.messages.base import Event
from shared.messages.events import SystemCreated, SystemDeleted, SystemUpdated

if TYPE_CHECKING:
    from services.webhooks.app import Deps

    Ctx = Context[Deps]

log = structlog.get_logger()


async def note_system(event: SystemCreated | SystemUpdated, ctx: Ctx) -> None:
    log.info("webhooks.system_noted", system_id=ctx.system_id)


async def purge_system(event: SystemDeleted, ctx: Ctx) -> None:
    # Keep the inbox row of this very event: it is what makes a redelivery a no-op.
    await ctx.conn.execute(
        "DELETE FROM inbox WHERE system_id = $1 AND message_id <> $2",
        ctx.system_id,
        ctx.envelope.message_id,
    )
    log.info("webhooks.system_purged", system_id=ctx.system_id)


REQUEST_HANDLERS: dict[type, object] = {}
EVENT_HANDLERS: dict[type[Event], list[Handler[Deps]]] = {
    SystemCreated: [note_system],
    SystemUpdated: [note_system],
    SystemDeleted: [purge_system],
}
