"""This API described: the OpenAPI document of the gateway's own route table, and a page that
shows it (no script, nothing fetched from elsewhere)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.config import VERSION
from services.gateway.docs_page import page
from services.gateway.keys import api_document_key
from services.gateway.middleware import public
from services.gateway.render import json_response
from services.gateway.routes import Raw, Route


@public
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(request.app[api_document_key](VERSION))


@public
async def docs(request: web.Request) -> web.Response:
    text = page(request.app[api_document_key](VERSION))
    return web.Response(text=text, content_type="text/html")


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
        "This API as a page to read",
        "docs",
        reply=Raw("text/html", {"type": "string"}),
        local=True,
    ),
]
