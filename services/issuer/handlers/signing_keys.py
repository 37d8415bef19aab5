"""The systems' signing keys through the API (list, rotate, retire) and their DID documents."""

from __future__ import annotations

from typing import Any

import structlog

from services.issuer.deps import Ctx, Deps
from services.issuer.handlers import open_badges
from services.issuer.keyring import did_document, shown_key
from services.issuer.repository.signing_keys import SigningKeys
from shared.context import Handler
from shared.errors import Conflict, NotFound
from shared.messages.base import Message
from shared.messages.open_badges import (
    GetDidDocument,
    ListSigningKeys,
    RetireSigningKey,
    RotateSigningKeys,
)

log = structlog.get_logger()


async def _keys(ctx: Ctx, repo: SigningKeys, system_id: int, system: str) -> list[dict[str, Any]]:
    """Every key of the system, its first ones created if it has none yet."""
    rows = await repo.listing(system_id)
    if not any(row["status"] == "current" for row in rows):
        await ctx.deps.keyring.current(repo, system_id, system)
        rows = await repo.listing(system_id)
    return [shown_key(row) for row in rows]


async def list_signing_keys(query: ListSigningKeys, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn).signing_keys
    return {"keys": await _keys(ctx, repo, query.system_id, query.system)}


async def rotate_signing_keys(cmd: RotateSigningKeys, ctx: Ctx) -> dict[str, Any]:
    ctx.system_id = cmd.system_id
    repo = ctx.deps.repository(ctx.conn)
    await ctx.deps.keyring.rotate(repo.signing_keys, cmd.system_id, cmd.system)
    await open_badges.sign_status_lists(repo, ctx, cmd.system_id, cmd.system)
    log.info("signing_keys.rotated", system_id=cmd.system_id)
    return {"keys": await _keys(ctx, repo.signing_keys, cmd.system_id, cmd.system)}


async def retire_signing_key(cmd: RetireSigningKey, ctx: Ctx) -> dict[str, Any]:
    ctx.system_id = cmd.system_id
    repo = ctx.deps.repository(ctx.conn).signing_keys
    row = await repo.retire(cmd.system_id, cmd.key_id)
    if row is None:
        raise NotFound(f"Could not find signing key field: `id`, value: `{cmd.key_id}`")
    if row["status"] == "current":
        raise Conflict(
            "A current key cannot be retired: rotate the keys first, then retire this one",
            details={"id": cmd.key_id},
        )
    log.info("signing_key.retired", system_id=cmd.system_id, key_id=cmd.key_id)
    return {"keys": await _keys(ctx, repo, cmd.system_id, cmd.system)}


async def get_did_document(query: GetDidDocument, ctx: Ctx) -> dict[str, Any]:
    repo = ctx.deps.repository(ctx.conn).signing_keys
    published = await repo.published(query.system)
    if not published:
        await ctx.deps.keyring.current(repo, query.system_id, query.system)
        published = await repo.published(query.system)
    return did_document(ctx.deps.keyring.did(query.system), published)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    ListSigningKeys: list_signing_keys,
    RotateSigningKeys: rotate_signing_keys,
    RetireSigningKey: retire_signing_key,
    GetDidDocument: get_did_document,
}
