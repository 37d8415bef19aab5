"""This API described: the OpenAPI document of the gateway's own route table, and `/docs`, a page
that shows it in Swagger UI and tries its routes, with the files that page loads."""

from __future__ import annotations

import asyncio
from functools import cache

import orjson
from aiohttp import web

from services.gateway.config import VERSION
from services.gateway.docs_assets import ASSETS_PATH, assets
from services.gateway.docs_page import page
from services.gateway.keys import ApiDocument, api_document_key
from services.gateway.middleware import public
from services.gateway.routes import Raw, Route
from services.gateway.static_files import StaticFile, StaticFiles

# Only this gateway's own files and requests: no inline script or style at all. Swagger UI styles
# elements from its scripts through the CSSOM (`element.style`), which `style-src` does not
# govern, and draws its icons from `data:` SVGs in its stylesheet, hence `img-src data:`.
DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_PAGE_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page names its assets by digest: it may be cached briefly, they for a year.
    "Cache-Control": "public, max-age=300",
}
_DOCUMENT_HEADERS = {"X-Content-Type-Options": "nosniff"}


async def _assets() -> StaticFiles:
    if assets.cache_info().currsize:
        return assets()
    # The first time, off the event loop: reading and compressing them takes about 0.2 s.
    return await asyncio.to_thread(assets)


@cache
def _served_document(build: ApiDocument, version: str) -> StaticFile:
    """The OpenAPI document as served: serialised and compressed once (about 600 KB, 28 KB
    gzipped)."""
    return StaticFile.of("application/json", orjson.dumps(build(version)), compress=True)


@public
async def openapi_json(request: web.Request) -> web.Response:
    served = _served_document(request.app[api_document_key], VERSION)
    return served.response(request.headers.get("Accept-Encoding", ""), _DOCUMENT_HEADERS)


@public
async def docs(request: web.Request) -> web.Response:
    text = page(request.app[api_document_key](VERSION), (await _assets()).urls)
    return web.Response(text=text, content_type="text/html", headers=_PAGE_HEADERS)


@public
async def docs_asset(request: web.Request) -> web.Response:
    files = await _assets()
    return files.response(request.match_info["file"], request.headers.get("Accept-Encoding", ""))


ROUTES = [
    Route(
        "GET",
        "/openapi.json",
        openapi_json,
        "This API as an OpenAPI 3.1 document",
        "docs",
        reply=Raw("application/json", {"type": "object"}),
        local=True,
    ),
    Route(
        "GET",
        "/docs",
        docs,
        "This API as a page to read and try",
        "docs",
        reply=Raw("text/html", {"type": "string"}),
        local=True,
    ),
    Route(
        "GET",
        ASSETS_PATH + "/{file}",
        docs_asset,
        "A file the /docs page loads",
        "docs",
        reply=Raw("application/octet-stream", {"type": "string"}),
        local=True,
    ),
]
