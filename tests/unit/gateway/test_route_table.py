"""The route table as the gateway serves it."""

from __future__ import annotations

from aiohttp import web

from services.gateway.route_table import setup_routes


def served(app: web.Application, method: str) -> dict[str, object]:
    return {
        route.resource.canonical: route.handler
        for route in app.router.routes()
        if route.method == method and route.resource is not None
    }


def test_every_get_route_answers_head_with_the_same_handler() -> None:
    app = web.Application()
    setup_routes(app)
    gets = served(app, "GET")
    assert {"/healthz", "/public/images/{image}", "/systems/{system}"} <= set(gets)
    assert served(app, "HEAD") == gets
