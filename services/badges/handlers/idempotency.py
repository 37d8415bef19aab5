"""Idempotency-Key records, for every gateway: claim, finish, release."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from services.badges.repository import idempotency as repository
from shared.handling import Context, Handler
from shared.messages.base import Message
from shared.messages.idempotency import (
    BeginIdempotentRequest,
    FinishIdempotentRequest,
    ReleaseIdempotentRequest,
)

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]


async def begin_idempotent_request(cmd: BeginIdempotentRequest, ctx: Ctx) -> dict[str, Any]:
    existing = await repository.claim(ctx.conn, cmd.scope, cmd.key, cmd.request_hash)
    if existing is None:
        return {"state": "new"}
    if existing["request_hash"] != cmd.request_hash:
        return {"state": "mismatch"}
    if existing["status"] is None:
        return {"state": "in_flight"}
    return {
        "state": "replay",
        "status": existing["status"],
        "headers": existing["headers"] or {},
        "body": base64.b64encode(existing["body"]).decode(),
    }


async def finish_idempotent_request(cmd: FinishIdempotentRequest, ctx: Ctx) -> None:
    await repository.finish(ctx.conn, cmd.scope, cmd.key, cmd.status, cmd.headers, cmd.body)


async def release_idempotent_request(cmd: ReleaseIdempotentRequest, ctx: Ctx) -> None:
    await repository.release(ctx.conn, cmd.scope, cmd.key)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    BeginIdempotentRequest: begin_idempotent_request,
    FinishIdempotentRequest: finish_idempotent_request,
    ReleaseIdempotentRequest: release_idempotent_request,
}
