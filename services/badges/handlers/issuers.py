"""Issuers of a system and programs of an issuer."""

from __future__ import annotations

from typing import Any

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import organizations as present
from services.badges.domain.common import listing
from services.badges.handlers import organizations
from services.badges.repository.scopes import Place
from shared.context import Handler
from shared.messages.base import Message
from shared.messages.events import IssuerDeleted, IssuerUpdated, ProgramDeleted, ProgramUpdated
from shared.messages.issuers import (
    CreateIssuer,
    CreateProgram,
    DeleteIssuer,
    DeleteProgram,
    GetIssuer,
    GetProgram,
    ListIssuers,
    ListPrograms,
    UpdateIssuer,
    UpdateProgram,
)


async def _place(ctx: Ctx, scope: Any) -> Place:
    place = await repository(ctx).scopes.resolve(scope)
    ctx.system_id = place.system_id
    return place


async def _issuer(ctx: Ctx, issuer_id: int) -> dict[str, Any]:
    found = await repository(ctx).organizations.get("issuers", issuer_id)
    return present.issuer(found, ctx.deps.base_url)


async def _program(ctx: Ctx, program_id: int) -> dict[str, Any]:
    found = await repository(ctx).organizations.get("programs", program_id)
    return present.program(found, ctx.deps.base_url)


async def create_issuer(cmd: CreateIssuer, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, cmd.scope)
    parents = {"system_id": place.system_id}
    issuer_id = await organizations.create(ctx, "issuers", parents, cmd.issuer, cmd.image)
    return await _issuer(ctx, issuer_id)


async def get_issuer(query: GetIssuer, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, query.scope)
    assert place.issuer_id is not None
    return await _issuer(ctx, place.issuer_id)


async def list_issuers(query: ListIssuers, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, query.scope)
    repo = repository(ctx)
    found, total = await repo.organizations.listing("issuers", place.system_id, query.page)
    return listing([present.issuer(item, ctx.deps.base_url) for item in found], total)


async def update_issuer(cmd: UpdateIssuer, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, cmd.scope)
    assert place.issuer_id is not None
    await organizations.update(
        ctx, "issuers", place.issuer_id, place.system_id, cmd.changes, cmd.image
    )
    shown = await _issuer(ctx, place.issuer_id)
    ctx.emit(IssuerUpdated(system=place.system, issuer=shown), system_id=place.system_id)
    return shown


async def delete_issuer(cmd: DeleteIssuer, ctx: Ctx) -> dict[str, Any]:
    """Delete an issuer with its programs and badges (and what hangs off those)."""
    place = await _place(ctx, cmd.scope)
    assert place.issuer_id is not None
    shown = await _issuer(ctx, place.issuer_id)
    await organizations.delete_with_badges(ctx, "issuers", place.issuer_id, place)
    ctx.emit(IssuerDeleted(system=place.system, issuer=shown), system_id=place.system_id)
    return shown


async def create_program(cmd: CreateProgram, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, cmd.scope)
    assert place.issuer_id is not None
    parents = {"system_id": place.system_id, "issuer_id": place.issuer_id}
    program_id = await organizations.create(ctx, "programs", parents, cmd.program, cmd.image)
    return await _program(ctx, program_id)


async def get_program(query: GetProgram, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, query.scope)
    assert place.program_id is not None
    return await _program(ctx, place.program_id)


async def list_programs(query: ListPrograms, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, query.scope)
    repo = repository(ctx)
    found, total = await repo.organizations.listing("programs", place.issuer_id, query.page)
    return listing([present.program(item, ctx.deps.base_url) for item in found], total)


async def update_program(cmd: UpdateProgram, ctx: Ctx) -> dict[str, Any]:
    place = await _place(ctx, cmd.scope)
    assert place.program_id is not None
    await organizations.update(
        ctx, "programs", place.program_id, place.system_id, cmd.changes, cmd.image
    )
    shown = await _program(ctx, place.program_id)
    ctx.emit(ProgramUpdated(system=place.system, program=shown), system_id=place.system_id)
    return shown


async def delete_program(cmd: DeleteProgram, ctx: Ctx) -> dict[str, Any]:
    """Delete a program with its badges (and what hangs off those)."""
    place = await _place(ctx, cmd.scope)
    assert place.program_id is not None
    shown = await _program(ctx, place.program_id)
    await organizations.delete_with_badges(ctx, "programs", place.program_id, place)
    ctx.emit(ProgramDeleted(system=place.system, program=shown), system_id=place.system_id)
    return shown


HANDLERS: dict[type[Message], Handler[Deps]] = {
    CreateIssuer: create_issuer,
    GetIssuer: get_issuer,
    ListIssuers: list_issuers,
    UpdateIssuer: update_issuer,
    DeleteIssuer: delete_issuer,
    CreateProgram: create_program,
    GetProgram: get_program,
    ListPrograms: list_programs,
    UpdateProgram: update_program,
    DeleteProgram: delete_program,
}
