"""Open Badges 3.0 (answered by the issuer): a system's signing keys, and the public signed
documents: an award's credential (JSON-LD, or its VC-JWT), a system's DID document and its
status lists."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from services.gateway.middleware import public
from services.gateway.pages.awards import award_page
from services.gateway.pages.negotiation import negotiated
from services.gateway.render import json_response
from services.gateway.responses.open_badges import (
    CREDENTIAL,
    CREDENTIAL_JWT,
    DID_DOCUMENT,
    STATUS_LIST,
    SigningKeys,
    UpdatedSigningKeys,
)
from services.gateway.routes import SYSTEM, Answer, Route
from services.gateway.views.common import arriving, ask, ask_badges, path_system
from services.gateway.views.public import DOCUMENT_CACHE_CONTROL
from shared.errors import NotFound
from shared.http import preferred
from shared.messages.open_badges import (
    GetDidDocument,
    GetOpenBadgeCredential,
    GetStatusList,
    ListSigningKeys,
    RetireSigningKey,
    RotateSigningKeys,
)
from shared.messages.public import GetAssertion
from shared.public_urls import DID_JSON, JSON_LD, VC_JWT

# A status list changes with every revocation: verifiers may keep it this long.
STATUS_LIST_CACHE_CONTROL = "public, max-age=5"


def _raw(body: str | bytes, content_type: str, cache_control: str, **headers: str) -> web.Response:
    return web.Response(
        body=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": content_type, "Cache-Control": cache_control, **headers},
    )


async def list_signing_keys(request: web.Request) -> web.Response:
    system = await path_system(request)
    return json_response(
        await ask(request, "issuer", ListSigningKeys(system_id=system.id, system=system.slug))
    )


async def rotate_signing_keys(request: web.Request) -> web.Response:
    system = await path_system(request)
    answer = await ask(
        request, "issuer", RotateSigningKeys(system_id=system.id, system=system.slug)
    )
    return json_response({"status": "updated", **answer})


async def retire_signing_key(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = RetireSigningKey(
        system_id=system.id, system=system.slug, key_id=request.match_info["signingKey"]
    )
    return json_response({"status": "updated", **await ask(request, "issuer", command)})


async def signed_credential(request: web.Request, slug: str) -> dict[str, Any]:
    """The award's signed credential; one not signed yet (its award just committed) is waited
    for, and an award nobody made is a 404."""
    query = GetOpenBadgeCredential(slug=slug)
    try:
        found: dict[str, Any] = await ask(request, "issuer", query)
    except NotFound:
        await ask_badges(request, GetAssertion(slug=slug))  # 404 for an award nobody made
        found = await arriving(request, "issuer", query, "The signed credential")
    return found


def _wants_jwt(request: web.Request) -> bool:
    return preferred(request.headers.get("Accept"), (JSON_LD, VC_JWT)) == VC_JWT


@public
@negotiated(award_page, json_type=JSON_LD)
async def get_credential(request: web.Request) -> web.Response:
    """The credential as JSON-LD, or as a VC-JWT to `Accept: application/vc+jwt`; the award
    page to a browser (`negotiated` sets `Vary`)."""
    found = await signed_credential(request, request.match_info["slug"])
    if _wants_jwt(request):
        return _raw(found["jwt"], VC_JWT, DOCUMENT_CACHE_CONTROL)
    return _raw(found["document"], JSON_LD, DOCUMENT_CACHE_CONTROL)


@public
async def get_credential_jwt(request: web.Request) -> web.Response:
    found = await signed_credential(request, request.match_info["slug"])
    return _raw(found["jwt"], VC_JWT, DOCUMENT_CACHE_CONTROL)


@public
async def get_did_document(request: web.Request) -> web.Response:
    system = await path_system(request)
    document = await ask(request, "issuer", GetDidDocument(system_id=system.id, system=system.slug))
    return _raw(orjson.dumps(document), DID_JSON, DOCUMENT_CACHE_CONTROL)


@public
async def get_status_list(request: web.Request) -> web.Response:
    system = await path_system(request)
    query = GetStatusList(system_id=system.id, list_id=request.match_info["list"])
    found = await ask(request, "issuer", query)
    return _raw(found["document"], JSON_LD, STATUS_LIST_CACHE_CONTROL)


KEYS = f"{SYSTEM}/signing-keys"
TAG = "open badges 3.0"
ROUTES = [
    Route(
        "GET",
        KEYS,
        list_signing_keys,
        "The system's signing keys (public halves)",
        TAG,
        reply=SigningKeys,
    ),
    Route(
        "POST",
        f"{KEYS}/rotate",
        rotate_signing_keys,
        "New current keys; the current ones become previous and keep verifying",
        TAG,
        reply=UpdatedSigningKeys,
    ),
    Route(
        "POST",
        f"{KEYS}/{{signingKey}}/retire",
        retire_signing_key,
        "Retire a previous key: what it signed stops verifying",
        TAG,
        reply=UpdatedSigningKeys,
    ),
    Route(
        "GET",
        "/public/credentials/{slug}.jwt",
        get_credential_jwt,
        "An award's signed Open Badges 3.0 credential as a VC-JWT (RS256)",
        TAG,
        reply=CREDENTIAL_JWT,
    ),
    Route(
        "GET",
        "/public/credentials/{slug}",
        get_credential,
        "An award's signed Open Badges 3.0 credential (JSON-LD, or VC-JWT on request)",
        TAG,
        reply=CREDENTIAL,
        page=True,
        also=(Answer(410, None, "The award page (`text/html`) of a revoked award"),),
    ),
    Route(
        "GET",
        "/public/systems/{system}/did.json",
        get_did_document,
        "The system's DID document (did:web): its current and previous keys",
        TAG,
        reply=DID_DOCUMENT,
    ),
    Route(
        "GET",
        "/public/systems/{system}/status/{list}",
        get_status_list,
        "A Bitstring Status List credential of the system (revocations)",
        TAG,
        reply=STATUS_LIST,
    ),
]
