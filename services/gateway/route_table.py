"""The gateway's route table: every view module's routes, in one list, mounted on the app."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from services.gateway.keys import api_document_key
from services.gateway.openapi import document
from services.gateway.routes import Route
from services.gateway.views import (
    applications,
    badges,
    baked,
    claim_codes,
    credentials,
    docs,
    health,
    imports,
    instances,
    issuers,
    milestones,
    open_badges,
    public,
    reviews,
    systems,
    verification,
    webhooks,
)

_MODULES = (
    health,
    systems,
    issuers,
    badges,
    claim_codes,
    instances,
    imports,
    applications,
    reviews,
    milestones,
    credentials,
    webhooks,
    open_badges,
    baked,
    public,
    verification,
    docs,
)


def all_routes() -> tuple[Route, ...]:
    return tuple(route for module in _MODULES for route in module.ROUTES)


def api_document(version: str) -> dict[str, Any]:
    """The OpenAPI document of this route table."""
    return _document(version)


@cache
def _document(version: str) -> dict[str, Any]:
    # Built once: the table never changes.
    return document(all_routes(), version)


def setup_routes(app: web.Application) -> None:
    app[api_document_key] = api_document
    for route in all_routes():
        if route.method == "GET":
            # HEAD too, answered as GET without its body (load balancers and link checkers
            # use it); a signed HEAD is signed for `HEAD`. The OpenAPI document lists GET only.
            app.router.add_get(route.path, route.handler, allow_head=True)
        else:
            app.router.add_route(route.method, route.path, route.handler)
