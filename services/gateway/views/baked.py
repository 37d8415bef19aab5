"""Baked badges: an award's badge image carrying its Open Badges 3.0 credential
(`/public/credentials/<slug>/badge.png|svg`) or its Open Badges 2.0 assertion
(`/public/assertions/<slug>/badge.png|svg`).

The gateway gathers what to bake: the signed credential from the issuer, or the assertion and
its badge's image URL from badges; an image of ours (`/public/images/<slug>`) is read from
badges, any other is named by its URL, which the issuer fetches through its SSRF guard. The
issuer converts the image as needed and bakes it (its CPU, never the gateway's).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import orjson
from aiohttp import web

from services.gateway.config import BAKE_TIMEOUT_S
from services.gateway.keys import correlation_key, rpc_key
from services.gateway.middleware import public
from services.gateway.routes import Answer, Handler, Raw, Route
from services.gateway.views.common import ask_badges, location
from services.gateway.views.open_badges import signed_credential
from services.gateway.views.public import DOCUMENT_CACHE_CONTROL, IMAGE_SECURITY
from shared.errors import Gone, NotFound
from shared.messages.baking import BakeImage
from shared.messages.public import GetAssertion, GetImage

Form = Literal["png", "svg"]
# A signed credential never changes (a revocation is told by its status list), nor does its
# baked image. A baked assertion changes when it is revoked: as its document, a minute.
CREDENTIAL_CACHE_CONTROL = "public, max-age=86400"
_MEDIA_TYPES: dict[Form, str] = {"png": "image/png", "svg": "image/svg+xml"}


async def _source(request: web.Request, url: Any) -> dict[str, str]:
    """What names the badge's image in a `BakeImage`: the bytes of one of ours, else its URL."""
    if not isinstance(url, str) or not url:
        raise NotFound("This badge has no image to bake")
    ours = location(request, "/public/images/")
    if url.startswith(ours):
        image = await ask_badges(request, GetImage(slug=url.removeprefix(ours)))
        return {"image": image["data"]}
    return {"image_url": url}


async def _baked(request: web.Request, query: BakeImage, cache_control: str) -> web.Response:
    # Fetching an image and rasterising it take longer than a look-up.
    answer = await request.app[rpc_key].request(
        "issuer", query, correlation_id=request[correlation_key], timeout_s=BAKE_TIMEOUT_S
    )
    found = answer.unwrap()
    name = f"{request.match_info['slug']}.{query.format}"
    headers = {
        "Cache-Control": cache_control,
        "Content-Disposition": f'inline; filename="{name}"',
        **IMAGE_SECURITY,
    }
    return web.Response(
        body=base64.b64decode(found["data"]), content_type=found["contentType"], headers=headers
    )


def _achievement_image(document: dict[str, Any]) -> Any:
    """The URL of the credential's achievement image (an `Image` object, or a bare URL)."""
    image = document.get("credentialSubject", {}).get("achievement", {}).get("image")
    return image.get("id") if isinstance(image, dict) else image


async def _credential(request: web.Request, form: Form) -> web.Response:
    found = await signed_credential(request, request.match_info["slug"])
    source = await _source(request, _achievement_image(orjson.loads(found["document"])))
    query = BakeImage(text=found["document"], standard="ob3", format=form, **source)
    return await _baked(request, query, CREDENTIAL_CACHE_CONTROL)


async def _assertion(request: web.Request, form: Form) -> web.Response:
    found = await ask_badges(request, GetAssertion(slug=request.match_info["slug"]))
    if found["revoked"]:
        raise Gone("This award is revoked: its assertion is no longer baked")
    assertion = found["assertion"]
    source = await _source(request, found.get("image"))
    # An SVG names the hosted assertion beside its JSON (OB 2.0 Baking Specification).
    verify = assertion["id"] if form == "svg" else None
    text = orjson.dumps(assertion).decode()
    query = BakeImage(text=text, standard="ob2", format=form, verify=verify, **source)
    return await _baked(request, query, DOCUMENT_CACHE_CONTROL)


@public
async def get_baked_credential_png(request: web.Request) -> web.Response:
    return await _credential(request, "png")


@public
async def get_baked_credential_svg(request: web.Request) -> web.Response:
    return await _credential(request, "svg")


@public
async def get_baked_assertion_png(request: web.Request) -> web.Response:
    return await _assertion(request, "png")


@public
async def get_baked_assertion_svg(request: web.Request) -> web.Response:
    return await _assertion(request, "svg")


TAG = "public"
_ERROR = Raw("application/json", {"$ref": "#/components/schemas/Error"})
_UNUSABLE = Answer(
    422, _ERROR, "`UnusableImage`: the badge's image cannot be fetched, read or baked"
)
_GONE = Answer(410, _ERROR, "`ResourceGone`: the award is revoked")


def _route(kind: str, form: Form, handler: Handler, what: str, *also: Answer) -> Route:
    media_type = _MEDIA_TYPES[form]
    return Route(
        "GET",
        f"/public/{kind}/{{slug}}/badge.{form}",
        handler,
        f"The badge image ({form.upper()}) with {what} baked in",
        TAG,
        reply=Raw(media_type, {"type": "string", "contentMediaType": media_type}),
        also=also,
    )


_OB3 = "the award's signed Open Badges 3.0 credential"
_OB2 = "the award's Open Badges 2.0 assertion (410 once revoked)"
ROUTES = [
    _route("credentials", "png", get_baked_credential_png, _OB3, _UNUSABLE),
    _route("credentials", "svg", get_baked_credential_svg, _OB3, _UNUSABLE),
    _route("assertions", "png", get_baked_assertion_png, _OB2, _GONE, _UNUSABLE),
    _route("assertions", "svg", get_baked_assertion_svg, _OB2, _GONE, _UNUSABLE),
]
