"""What systems, issuers and programs share: create, update and delete one, with its image."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.badges.deps import Ctx, repository
from services.badges.errors import slug_taken
from services.badges.handlers.badges import delete_badges
from services.badges.repository.organizations import Table
from services.badges.repository.scopes import Place
from shared.messages.common import ImageUpload
from shared.messages.systems import OrganizationChanges, OrganizationFields

MODEL = {"systems": "system", "issuers": "issuer", "programs": "program"}


async def create(
    ctx: Ctx,
    table: Table,
    parents: dict[str, int],
    fields: OrganizationFields,
    image: ImageUpload | None,
) -> int:
    repo = repository(ctx)
    try:
        row_id = await repo.organizations.insert(table, parents, fields.model_dump())
    except asyncpg.UniqueViolationError:
        raise slug_taken(MODEL[table], fields.to_data()) from None
    if image is not None:
        system_id = parents.get("system_id", row_id)
        image_id = await repo.images.insert(system_id, image)
        await repo.organizations.update(table, row_id, {"image_id": image_id})
    return row_id


async def update(
    ctx: Ctx,
    table: Table,
    row_id: int,
    system_id: int,
    changes: OrganizationChanges,
    image: ImageUpload | None,
) -> list[str]:
    """Apply a PUT; return the names of the fields it changed."""
    repo = repository(ctx)
    values: dict[str, Any] = changes.model_dump(exclude_unset=True)
    if image is not None:
        values["image_id"] = await repo.images.insert(system_id, image)
        values["image_url"] = None
    elif "image_url" in values:
        values["image_id"] = None  # an external image replaces an uploaded one
    await repo.organizations.update(table, row_id, values)
    return sorted(changes.to_data()) + (["image"] if image is not None else [])


async def delete_with_badges(ctx: Ctx, table: Table, row_id: int, place: Place) -> None:
    """Delete an issuer or a program with its badges (each announced as deleted) and, through
    the foreign keys, everything under them."""
    repo = repository(ctx)
    column = "issuer_id" if table == "issuers" else "program_id"
    await delete_badges(ctx, place, await repo.badges.ids_in(column, row_id))
    await repo.organizations.delete(table, row_id)
