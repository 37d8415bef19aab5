"""The public documents under `/public/`: never authenticated.

Open Badges 2.0 documents are served as `application/json`, which the specification allows
beside `application/ld+json` and which BadgeKit clients expect.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from services.gateway.keys import pages_key
from services.gateway.middleware import public
from services.gateway.pages.awards import award_page
from services.gateway.pages.negotiation import negotiated
from services.gateway.pages.organizations import badge_page, issuer_page
from services.gateway.render import json_response
from services.gateway.responses.public import (
    Assertion,
    BadgeClass,
    IssuerProfile,
    RevokedAssertion,
)
from services.gateway.routes import CONTEXTS, Answer, Raw, Route
from services.gateway.views.common import ask_badges, cached_read, scope
from shared.messages.public import GetAssertion, GetBadgeClass, GetImage, GetIssuerProfile

# An image's slug changes whenever it is replaced, so its bytes can be cached for good.
IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"
# Uploaded SVGs are served as documents that can run nothing.
IMAGE_SECURITY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
# Verifiers may cache a document briefly; a revocation shows within this time.
DOCUMENT_CACHE_CONTROL = "public, max-age=60"


@public
async def get_image(request: web.Request) -> web.Response:
    image = await ask_badges(request, GetImage(slug=request.match_info["image"]))
    etag = f'"{image["etag"]}"'
    headers = {"Cache-Control": IMAGE_CACHE_CONTROL, "ETag": etag, **IMAGE_SECURITY}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=base64.b64decode(image["data"]), content_type=image["contentType"], headers=headers
    )


def _document(body: object, status: int = 200) -> web.Response:
    return json_response(body, status=status, headers={"Cache-Control": DOCUMENT_CACHE_CONTROL})


def _assertion(_query: GetAssertion, found: Any) -> web.Response:
    return _document(found["assertion"], 410 if found["revoked"] else 200)


def _assertion_system(_query: GetAssertion, found: Any) -> str:
    return str(found["system"])


@public
@negotiated(award_page)
async def get_assertion(request: web.Request) -> web.Response:
    """A hosted Assertion; a revoked award answers 410 Gone with `revoked: true`."""
    query = GetAssertion(slug=request.match_info["slug"])
    return await cached_read(request, query, _assertion, _assertion_system)


@public
@negotiated(badge_page)
async def get_badge_class(request: web.Request) -> web.Response:
    query = GetBadgeClass(scope=scope(request), badge=request.match_info["badge"])
    return _document(await ask_badges(request, query))


@public
@negotiated(issuer_page)
async def get_issuer_profile(request: web.Request) -> web.Response:
    return _document(await ask_badges(request, GetIssuerProfile(scope=scope(request))))


@public
async def get_static(request: web.Request) -> web.Response:
    static = request.app[pages_key].static
    return static.response(request.match_info["asset"], request.headers.get("Accept-Encoding", ""))


TAG = "public"
IMAGE = Raw("image/*", {"type": "string", "contentMediaType": "image/*"})
ROUTES = [
    Route(
        "GET",
        "/public/images/{image}",
        get_image,
        "An uploaded image (PNG, SVG, JPEG or GIF, by its bytes)",
        TAG,
        reply=IMAGE,
        also=(Answer(304, None, "Not modified: the If-None-Match ETag is current"),),
    ),
    Route(
        "GET",
        "/public/assertions/{slug}",
        get_assertion,
        "An award's hosted Open Badges 2.0 Assertion (410 once revoked)",
        TAG,
        reply=Assertion,
        page=True,
        also=(Answer(410, RevokedAssertion, "Revoked: the Assertion, with `revoked: true`"),),
    ),
    *(
        Route(
            "GET",
            f"/public{context}/badges/{{badge}}",
            get_badge_class,
            "A badge's Open Badges 2.0 BadgeClass, at the badge's own level",
            TAG,
            reply=BadgeClass,
            page=True,
        )
        for context in CONTEXTS
    ),
    *(
        Route(
            "GET",
            f"/public{context}",
            get_issuer_profile,
            "The Open Badges 2.0 Issuer profile of a system, issuer or program",
            TAG,
            reply=IssuerProfile,
            page=True,
        )
        for context in CONTEXTS
    ),
    Route(
        "GET",
        "/public/static/{asset}",
        get_static,
        "A file the public pages use (stylesheet, script, image), by a name that changes with"
        " its content",
        TAG,
        reply=Raw("*/*", {"type": "string"}),
        local=True,
    ),
]
