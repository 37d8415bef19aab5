"""Claim codes of a badge (`{B}/codes`), and badges looked up by code (`{C}/codes/:code`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from services.gateway.middleware import keeps_cached_reads
from services.gateway.render import json_response
from services.gateway.responses import envelopes
from services.gateway.responses.badges import BadgeByCode, ClaimCodeList, ClaimCodeReply
from services.gateway.routes import in_contexts
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_of, location, scope
from shared.messages.claim_codes import (
    ClaimCode,
    ClaimCodeFields,
    ClaimCodeOptions,
    ClaimFields,
    CreateClaimCode,
    DeleteClaimCode,
    FindBadgeByCode,
    GetClaimCode,
    ListClaimCodes,
)


def _badge(request: web.Request) -> str:
    return request.match_info["badge"]


def _code(request: web.Request) -> str:
    return request.match_info["code"]


async def list_claim_codes(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListClaimCodes(scope=scope(request), badge=_badge(request), page=page)
    found = await ask_badges(request, query)
    body: dict[str, Any] = {"claimCodes": found["items"], "badge": found["badge"]}
    if page is not None:
        body["pageData"] = {"page": page.page, "count": page.count, "total": found["total"]}
    return json_response(body)


async def _create(
    request: web.Request, code: str | None, options: ClaimCodeOptions
) -> web.Response:
    command = CreateClaimCode(
        scope=scope(request), badge=_badge(request), code=code, options=options
    )
    found = await ask_badges(request, command)
    codes = request.path.rstrip("/").removesuffix("/random")
    return json_response(
        {"status": "created", **found},
        status=201,
        headers={"Location": location(request, f"{codes}/{quote(found['claimCode']['code'])}")},
    )


async def create_claim_code(request: web.Request) -> web.Response:
    fields = fields_of(request, ClaimCodeFields)
    options = ClaimCodeOptions(claimed=fields.claimed, multiuse=fields.multiuse, email=fields.email)
    return await _create(request, fields.code, options)


async def create_random_claim_code(request: web.Request) -> web.Response:
    return await _create(request, None, fields_of(request, ClaimCodeOptions))


async def get_claim_code(request: web.Request) -> web.Response:
    query = GetClaimCode(scope=scope(request), badge=_badge(request), code=_code(request))
    return json_response(await ask_badges(request, query))


async def delete_claim_code(request: web.Request) -> web.Response:
    command = DeleteClaimCode(scope=scope(request), badge=_badge(request), code=_code(request))
    return json_response({"status": "deleted", **await ask_badges(request, command)})


@keeps_cached_reads
async def claim(request: web.Request) -> web.Response:
    email = fields_of(request, ClaimFields).email
    command = ClaimCode(
        scope=scope(request), badge=_badge(request), code=_code(request), email=email
    )
    return json_response({"status": "updated", **await ask_badges(request, command)})


async def find_badge_by_code(request: web.Request) -> web.Response:
    query = FindBadgeByCode(scope=scope(request), code=_code(request))
    return json_response({"badge": await ask_badges(request, query)})


CODES = "/badges/{badge}/codes"
CODE = f"{CODES}/{{code}}"
TAG = "claim codes"
CREATED = envelopes.with_status("created", ClaimCodeReply)
ROUTES = [
    *in_contexts(
        "GET",
        CODES,
        list_claim_codes,
        "List a badge's claim codes",
        TAG,
        paged=True,
        reply=ClaimCodeList,
    ),
    *in_contexts(
        "POST",
        CODES,
        create_claim_code,
        "Add a claim code",
        TAG,
        ClaimCodeFields,
        201,
        reply=CREATED,
    ),
    *in_contexts(
        "POST",
        f"{CODES}/random",
        create_random_claim_code,
        "Add a random claim code (10 hex characters)",
        TAG,
        ClaimCodeOptions,
        201,
        reply=CREATED,
    ),
    *in_contexts("GET", CODE, get_claim_code, "Get a claim code", TAG, reply=ClaimCodeReply),
    *in_contexts(
        "DELETE",
        CODE,
        delete_claim_code,
        "Delete a claim code",
        TAG,
        reply=envelopes.with_status("deleted", ClaimCodeReply),
    ),
    *in_contexts(
        "POST",
        f"{CODE}/claim",
        claim,
        "Mark a claim code claimed (without awarding the badge)",
        TAG,
        ClaimFields,
        reply=envelopes.with_status("updated", ClaimCodeReply),
    ),
    *in_contexts(
        "GET",
        "/codes/{code}",
        find_badge_by_code,
        "Find the badge of a claim code here and below",
        TAG,
        reply=envelopes.reply("badge", BadgeByCode),
    ),
]
