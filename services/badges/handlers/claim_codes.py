"""Claim codes of a badge: created, listed, claimed, deleted, and looked up by code."""

from __future__ import annotations

from typing import Any

from services.badges import awarding
from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import claim_codes as domain
from services.badges.errors import not_found
from services.badges.lookups import find_badge, shown
from shared.context import Handler
from shared.errors import NotFound
from shared.messages.base import Message
from shared.messages.claim_codes import (
    ClaimCode,
    CreateClaimCode,
    DeleteClaimCode,
    FindBadgeByCode,
    GetClaimCode,
    ListClaimCodes,
)

# A random code colliding with one of the badge's codes is drawn again; 16^10 codes make a
# second collision in a row all but impossible.
RANDOM_CODE_ATTEMPTS = 5


def _code_not_found(code: str) -> NotFound:
    return not_found("claimCode", "code", code)


async def create_claim_code(cmd: CreateClaimCode, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    options = cmd.options
    claimed, multiuse = bool(options.claimed), bool(options.multiuse)
    repo = repository(ctx)
    row = None
    for _ in range(RANDOM_CODE_ATTEMPTS if cmd.code is None else 1):
        code = cmd.code or domain.random_code()
        row = await repo.claim_codes.insert(
            badge["id"], code, claimed=claimed, multiuse=multiuse, email=options.email
        )
        if row is not None:
            break
    if row is None:
        submitted = {"code": cmd.code, "claimed": claimed, "multiuse": multiuse}
        raise domain.code_taken({**submitted, "email": options.email})
    return {"claimCode": domain.claim_code(row), "badge": shown(ctx, badge)}


async def list_claim_codes(query: ListClaimCodes, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    rows, total = await repository(ctx).claim_codes.listing(badge["id"], query.page)
    return {
        "items": [domain.claim_code(row) for row in rows],
        "total": total,
        "badge": shown(ctx, badge),
    }


async def get_claim_code(query: GetClaimCode, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, query.scope, query.badge)
    row = await repository(ctx).claim_codes.get(badge["id"], query.code)
    if row is None:
        raise _code_not_found(query.code)
    return {"claimCode": domain.claim_code(row), "badge": shown(ctx, badge)}


async def delete_claim_code(cmd: DeleteClaimCode, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    row = await repository(ctx).claim_codes.delete(badge["id"], cmd.code)
    if row is None:
        raise _code_not_found(cmd.code)
    return {"claimCode": domain.claim_code(row), "badge": shown(ctx, badge)}


async def claim(cmd: ClaimCode, ctx: Ctx) -> dict[str, Any]:
    badge = await find_badge(ctx, cmd.scope, cmd.badge)
    shown_badge = shown(ctx, badge)
    claimed = await awarding.consume_claim_code(ctx, badge, shown_badge, cmd.code, cmd.email)
    return {"claimCode": claimed, "badge": shown_badge}


async def find_badge_by_code(query: FindBadgeByCode, ctx: Ctx) -> dict[str, Any]:
    repo = repository(ctx)
    place = await repo.scopes.resolve(query.scope)
    ctx.system_id = place.system_id
    found = await repo.claim_codes.find_in_place(place, query.code)
    if found is None:
        raise domain.unknown_code(query.code)
    badge = shown(ctx, await repo.badges.get(found["badge_id"]))
    return domain.found_by_code(badge, found["claimed"], found["multiuse"])


HANDLERS: dict[type[Message], Handler[Deps]] = {
    CreateClaimCode: create_claim_code,
    ListClaimCodes: list_claim_codes,
    GetClaimCode: get_claim_code,
    DeleteClaimCode: delete_claim_code,
    ClaimCode: claim,
    FindBadgeByCode: find_badge_by_code,
}
