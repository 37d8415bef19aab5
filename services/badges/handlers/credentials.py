"""The issuer's outcomes for the credentials of awards (`credential.issued`,
`credential.failed`), kept on the award so that its instance shows the credential's status; and
whether an award holds a credential id, for the gateway.

The events also cover credentials issued directly (`POST /systems/:s/credentials`); no award
holds those, and the event changes nothing here.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from services.badges.deps import Ctx, Deps, repository
from shared.context import Handler
from shared.errors import PermanentError
from shared.messages.base import Message
from shared.messages.credentials import CredentialFailed, CredentialIssued, HoldsCredential

log = structlog.get_logger()


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if value is not None and value != "" else None


def _credential_id(data: dict[str, Any]) -> str:
    """The credential's id as awards store it (a UUID's canonical text)."""
    value = _text(data, "id")
    if value is None:
        raise PermanentError("credential event without a credential id")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value  # not one of ours: it matches no award


async def holds_credential(query: HoldsCredential, ctx: Ctx) -> bool:
    try:
        credential_id = str(uuid.UUID(query.id))
    except ValueError:
        return False
    return await repository(ctx).instances.holds_credential(query.system_id, credential_id)


async def _record(ctx: Ctx, credential: dict[str, Any], status: str) -> None:
    credential_id = _credential_id(credential)
    vc_id = _text(credential, "vcId") if status == "issued" else None
    applied = await repository(ctx).instances.record_credential_outcome(
        credential_id, ctx.system_id, status, vc_id
    )
    log.info(
        "badges.credential_outcome",
        credential_id=credential_id,
        status=status,
        applied=applied,
        system_id=ctx.system_id,
    )


async def credential_issued(event: CredentialIssued, ctx: Ctx) -> None:
    await _record(ctx, event.credential, "issued")


async def credential_failed(event: CredentialFailed, ctx: Ctx) -> None:
    await _record(ctx, event.credential, "failed")


HANDLERS: dict[type[Message], Handler[Deps]] = {HoldsCredential: holds_credential}

EVENT_HANDLERS: dict[type[Message], list[Handler[Deps]]] = {
    CredentialIssued: [credential_issued],
    CredentialFailed: [credential_failed],
}
