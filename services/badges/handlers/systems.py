"""Systems and their API consumers."""

from __future__ import annotations

import secrets
from typing import Any

from services.badges.config import API_KEY_BYTES, API_SECRET_BYTES
from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import consumers as domain
from services.badges.domain import organizations as present
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.handlers import organizations
from shared.context import Handler, Sensitive
from shared.crypto import new_secret
from shared.messages.base import Message
from shared.messages.events import (
    ConsumerDeleted,
    SystemDeleted,
    SystemUpdated,
)
from shared.messages.systems import (
    CreateConsumer,
    CreateSystem,
    DeleteConsumer,
    DeleteSystem,
    GetConsumerCredentials,
    GetSystem,
    ListConsumers,
    ListSystems,
    ResolveSystem,
    UpdateSystem,
)


async def _system_id(ctx: Ctx, slug: str) -> int:
    system_id = await repository(ctx).organizations.find_id("systems", slug, None)
    if system_id is None:
        raise not_found("system", "slug", slug)
    ctx.system_id = system_id
    return system_id


async def _shown(ctx: Ctx, system_id: int) -> dict[str, Any]:
    found = await repository(ctx).organizations.get("systems", system_id)
    return present.system(found, ctx.deps.base_url)


async def create_system(cmd: CreateSystem, ctx: Ctx) -> dict[str, Any]:
    system_id = await organizations.create(ctx, "systems", {}, cmd.system, cmd.image)
    ctx.system_id = system_id
    return await _shown(ctx, system_id)


async def get_system(query: GetSystem, ctx: Ctx) -> dict[str, Any]:
    return await _shown(ctx, await _system_id(ctx, query.slug))


async def list_systems(query: ListSystems, ctx: Ctx) -> dict[str, Any]:
    found, total = await repository(ctx).organizations.listing("systems", None, query.page)
    return listing([present.system(item, ctx.deps.base_url) for item in found], total)


async def update_system(cmd: UpdateSystem, ctx: Ctx) -> dict[str, Any]:
    system_id = await _system_id(ctx, cmd.slug)
    await organizations.update(ctx, "systems", system_id, system_id, cmd.changes, cmd.image)
    shown = await _shown(ctx, system_id)
    ctx.emit(SystemUpdated(system=cmd.slug, profile=shown), system_id=system_id)
    return shown


async def delete_system(cmd: DeleteSystem, ctx: Ctx) -> dict[str, Any]:
    """Delete a system and everything in it (foreign keys cascade), its stored replies too."""
    system_id = await _system_id(ctx, cmd.slug)
    shown = await _shown(ctx, system_id)
    repo = repository(ctx)
    await repo.organizations.delete("systems", system_id)
    await repo.consumers.forget_replies(system_id)
    ctx.emit(SystemDeleted(system=cmd.slug), system_id=system_id)
    return shown


async def resolve_system(query: ResolveSystem, ctx: Ctx) -> dict[str, Any]:
    return {"id": await _system_id(ctx, query.slug), "slug": query.slug}


async def create_consumer(cmd: CreateConsumer, ctx: Ctx) -> Sensitive:
    system_id = await _system_id(ctx, cmd.system)
    api_key = secrets.token_hex(API_KEY_BYTES)
    api_secret = new_secret(API_SECRET_BYTES)
    row = await repository(ctx).consumers.insert_consumer(
        system_id,
        api_key,
        ctx.deps.secrets.encrypt(api_secret),
        cmd.consumer.description,
    )
    shown = domain.consumer(row)
    return Sensitive(data={**shown, "apiSecret": api_secret}, stored=shown)


async def list_consumers(query: ListConsumers, ctx: Ctx) -> dict[str, Any]:
    system_id = await _system_id(ctx, query.system)
    rows, total = await repository(ctx).consumers.list_consumers(system_id, query.page)
    return listing([domain.consumer(row) for row in rows], total)


async def delete_consumer(cmd: DeleteConsumer, ctx: Ctx) -> dict[str, Any]:
    system_id = await _system_id(ctx, cmd.system)
    row = await repository(ctx).consumers.delete_consumer(system_id, cmd.api_key)
    if row is None:
        raise not_found("consumer", "apiKey", cmd.api_key)
    ctx.emit(ConsumerDeleted(system=cmd.system, api_key=cmd.api_key), system_id=system_id)
    return domain.consumer(row)


async def get_consumer_credentials(
    query: GetConsumerCredentials, ctx: Ctx
) -> dict[str, Any] | None:
    row = await repository(ctx).consumers.get_consumer_credentials(query.api_key)
    if row is None:
        return None
    return {
        "apiKey": row["api_key"],
        "system": row["system"],
        "systemId": row["system_id"],
        "secretCiphertext": row["secret_ciphertext"],
    }


HANDLERS: dict[type[Message], Handler[Deps]] = {
    CreateSystem: create_system,
    GetSystem: get_system,
    ListSystems: list_systems,
    UpdateSystem: update_system,
    DeleteSystem: delete_system,
    CreateConsumer: create_consumer,
    ListConsumers: list_consumers,
    DeleteConsumer: delete_consumer,
    GetConsumerCredentials: get_consumer_credentials,
    ResolveSystem: resolve_system,
}
