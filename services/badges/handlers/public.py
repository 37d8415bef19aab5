"""The public documents: uploaded images and the Open Badges 2.0 documents (hosted
Assertion, BadgeClass, Issuer profile)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import public as documents
from services.badges.domain.organizations import image_url
from services.badges.errors import not_found
from shared.context import Handler
from shared.errors import NotFound
from shared.messages.base import Message
from shared.messages.public import GetAssertion, GetBadgeClass, GetImage, GetIssuerProfile
from shared.public_urls import profile_url


async def get_image(query: GetImage, ctx: Ctx) -> dict[str, Any]:
    image = await repository(ctx).images.get(query.slug)
    if image is None:
        raise not_found("image", "slug", query.slug)
    data: bytes = image["data"]
    return {
        "contentType": image["mimetype"],
        "data": base64.b64encode(data).decode(),
        "etag": hashlib.sha256(data).hexdigest()[:32],
    }


async def get_assertion(query: GetAssertion, ctx: Ctx) -> dict[str, Any]:
    """`{assertion, revoked, image, system, name}`: the gateway answers a revoked one with 410
    Gone; `image` is the badge's image URL (what its BadgeClass shows), for baking; `system` the
    slug of the award's system (whose changes drop the gateway's cached copy); `name` the
    earner's name where the award carries one (shown on the award's page, never in the
    assertion)."""
    row = await repository(ctx).instances.assertion(query.slug)
    if row is None:
        raise NotFound("Could not find badge instance")
    return {
        "assertion": documents.assertion(row, ctx.deps.base_url),
        "revoked": row["revoked_at"] is not None,
        "image": image_url(dict(row), ctx.deps.base_url),
        "system": row["system"],
        "name": row["recipient_name"],
    }


async def get_badge_class(query: GetBadgeClass, ctx: Ctx) -> dict[str, Any]:
    scope = query.scope
    row = await repository(ctx).badges.find(scope, query.badge)
    # A badge's BadgeClass lives at its own level only, not under its ancestors.
    if (
        row is None
        or (scope.issuer is None and row["issuer"] is not None)
        or (scope.program is None and row["program"] is not None)
    ):
        raise not_found("badge", "slug", query.badge)
    return documents.badge_class(row, ctx.deps.base_url)


async def get_issuer_profile(query: GetIssuerProfile, ctx: Ctx) -> dict[str, Any]:
    scope = query.scope
    row = await repository(ctx).instances.organizations(scope)
    if row is None:
        raise not_found("system", "slug", scope.system)
    if scope.issuer is not None and row["issuer"] is None:
        raise not_found("issuer", "slug", scope.issuer)
    if scope.program is not None and row["program"] is None:
        raise not_found("program", "slug", scope.program)
    levels = [org for org in (row["program"], row["issuer"], row["system"]) if org is not None]
    url = profile_url(ctx.deps.base_url, scope.system, scope.issuer, scope.program)
    return documents.issuer_profile(levels, url, ctx.deps.base_url)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    GetImage: get_image,
    GetAssertion: get_assertion,
    GetBadgeClass: get_badge_class,
    GetIssuerProfile: get_issuer_profile,
}
