"""Handlers of the issuer service: one module per family (Open Campus credentials, signing
keys, Open Badges 3.0 credentials, their verification, baked badges, systems), each with its
registries at the bottom, merged here."""

from __future__ import annotations

from collections.abc import Sequence

from services.issuer.deps import Deps
from services.issuer.handlers import (
    baking,
    credentials,
    open_badges,
    signing_keys,
    systems,
    verification,
)
from shared.context import Handler, MessageHandler
from shared.messages.base import Message

REQUEST_HANDLERS: dict[type[Message], Handler[Deps]] = {
    **credentials.HANDLERS,
    **signing_keys.HANDLERS,
    **open_badges.HANDLERS,
    **verification.HANDLERS,
    **baking.HANDLERS,
}

EVENT_HANDLERS: dict[type[Message], Sequence[MessageHandler[Deps]]] = {
    **credentials.EVENT_HANDLERS,
    **open_badges.EVENT_HANDLERS,
    **systems.EVENT_HANDLERS,
}
