"""Handlers of the badges service: one module per resource family, each with its `HANDLERS`
registry at the bottom, merged here; the events it consumes (`credential.*`) in
`EVENT_HANDLERS`."""

from __future__ import annotations

from services.badges.deps import Deps
from services.badges.handlers import (
    applications,
    badges,
    claim_codes,
    credentials,
    imports,
    instances,
    issuers,
    milestones,
    public,
    reviews,
    systems,
)
from shared.context import Handler, MessageHandler
from shared.messages.base import Message

REQUEST_HANDLERS: dict[type[Message], MessageHandler[Deps]] = {
    **systems.HANDLERS,
    **issuers.HANDLERS,
    **badges.HANDLERS,
    **milestones.HANDLERS,
    **public.HANDLERS,
    **claim_codes.HANDLERS,
    **instances.HANDLERS,
    **applications.HANDLERS,
    **reviews.HANDLERS,
    **credentials.HANDLERS,
    **imports.HANDLERS,
}

EVENT_HANDLERS: dict[type[Message], list[Handler[Deps]]] = {
    **credentials.EVENT_HANDLERS,
}
