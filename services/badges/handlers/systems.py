"""Systems and their API consumers."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import asyncpg

from services.badges.config import API_KEY_BYTES, API_SECRET_BYTES
from services.badges.domain import systems as domain
from services.badges.domain.common import listing
from services.badges.errors import not_found, slug_taken
from services.badges.repository import systems as repository
from shared.handling import Context, Handler, Sensitive
from shared.messages.base import Message
from shared.messages.events import (
    ConsumerCreated,
    ConsumerDeleted,
    SystemCreated,
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
    UpdateSystem,
)

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]


async def _system(ctx: Ctx, slug: str) -> asyncpg.Record:
    row = await repository.get_system(ctx.conn, slug)
    if row is None:
        raise not_found("system", "slug", slug)
    ctx.system_id = row["id"]
    return row


async def create_system(cmd: CreateSystem, ctx: Ctx) -> dict[str, Any]:
    fields = cmd.system.model_dump()
    try:
        row = await repository.insert_system(ctx.conn, fields)
    except asyncpg.UniqueViolationError:
        raise slug_taken("system", cmd.system.to_data()) from None
    ctx.system_id = row["id"]
    ctx.emit(
        SystemCreated(system=row["slug"], name=row["name"], url=row["url"]), system_id=row["id"]
    )
    return domain.system(row)


async def get_system(query: GetSystem, ctx: Ctx) -> dict[str, Any]:
    return domain.system(await _system(ctx, query.slug))


async def list_systems(query: ListSystems, ctx: Ctx) -> dict[str, Any]:
    rows, total = await repository.list_systems(ctx.conn, query.page)
    return listing([domain.system(row) for row in rows], total)


async def update_system(cmd: UpdateSystem, ctx: Ctx) -> dict[str, Any]:
    changes = cmd.changes.model_dump(exclude_unset=True)
    row = await repository.update_system(ctx.conn, cmd.slug, changes)
    if row is None:
        raise not_found("system", "slug", cmd.slug)
    ctx.system_id = row["id"]
    ctx.emit(SystemUpdated(system=row["slug"], changed=sorted(changes)), system_id=row["id"])
    return domain.system(row)


async def delete_system(cmd: DeleteSystem, ctx: Ctx) -> dict[str, Any]:
    row = await repository.delete_system(ctx.conn, cmd.slug)
    if row is None:
        raise not_found("system", "slug", cmd.slug)
    ctx.system_id = row["id"]
    ctx.emit(SystemDeleted(system=row["slug"]), system_id=row["id"])
    return domain.system(row)


async def create_consumer(cmd: CreateConsumer, ctx: Ctx) -> Sensitive:
    system = await _system(ctx, cmd.system)
    api_key = secrets.token_hex(API_KEY_BYTES)
    api_secret = secrets.token_urlsafe(API_SECRET_BYTES)
    row = await repository.insert_consumer(
        ctx.conn,
        system["id"],
        api_key,
        ctx.deps.secrets.encrypt(api_secret),
        cmd.consumer.description,
    )
    ctx.emit(
        ConsumerCreated(system=system["slug"], api_key=api_key, description=row["description"]),
        system_id=system["id"],
    )
    shown = domain.consumer(row)
    return Sensitive(data={**shown, "apiSecret": api_secret}, stored=shown)


async def list_consumers(query: ListConsumers, ctx: Ctx) -> dict[str, Any]:
    system = await _system(ctx, query.system)
    rows, total = await repository.list_consumers(ctx.conn, system["id"], query.page)
    return listing([domain.consumer(row) for row in rows], total)


async def delete_consumer(cmd: DeleteConsumer, ctx: Ctx) -> dict[str, Any]:
    system = await _system(ctx, cmd.system)
    row = await repository.delete_consumer(ctx.conn, system["id"], cmd.api_key)
    if row is None:
        raise not_found("consumer", "apiKey", cmd.api_key)
    ctx.emit(ConsumerDeleted(system=system["slug"], api_key=cmd.api_key), system_id=system["id"])
    return domain.consumer(row)


async def get_consumer_credentials(
    query: GetConsumerCredentials, ctx: Ctx
) -> dict[str, Any] | None:
    row = await repository.get_consumer_credentials(ctx.conn, query.api_key)
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
}
