"""The OpenAPI document: valid 3.1, and it covers every route the gateway serves."""

from __future__ import annotations

from aiohttp import web
from openapi_spec_validator import validate

from services.gateway.openapi import document
from services.gateway.routes import setup_routes


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document("1.2.3")
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "1.2.3"
    validate(spec)


def test_every_served_route_is_documented() -> None:
    app = web.Application()
    setup_routes(app)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    spec = document("1.2.3")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert served - {("GET", "/openapi.json"), ("GET", "/docs")} == documented


def test_request_bodies_come_from_the_validating_models() -> None:
    spec = document("1.2.3")
    create = spec["paths"]["/systems/{system}/badges"]["post"]
    reference = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert {"name", "earnerDescription", "consumerDescription", "criteriaUrl", "unique"} <= set(
        schema["required"]
    )
    assert "criteria" in schema["properties"]


def test_public_routes_need_no_token() -> None:
    spec = document("1.2.3")
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert spec["paths"]["/systems"]["get"]["security"] == [{"BadgeKitJWT": []}]


def test_operation_ids_are_unique() -> None:
    spec = document("1.2.3")
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
