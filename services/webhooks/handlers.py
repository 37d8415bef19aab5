"""Handlers of the webhooks service.

Until its own features arrive, it only receives the events it is bound to: the dispatcher
records each in the inbox (so a redelivery is skipped) and logs it. On `system.deleted` it
purges what it holds for the system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from shared.handling import Context, Handler, forget_system_messages
from shared.messages.base import Message
from shared.messages.events import SystemDeleted

if TYPE_CHECKING:
    from services.webhooks.app import Deps

    Ctx = Context[Deps]

log = structlog.get_logger()


async def purge_system(event: SystemDeleted, ctx: Ctx) -> None:
    await forget_system_messages(ctx)
    log.info("webhooks.system_purged", system_id=ctx.system_id)


EVENT_HANDLERS: dict[type[Message], list[Handler[Deps]]] = {
    SystemDeleted: [purge_system],
}
