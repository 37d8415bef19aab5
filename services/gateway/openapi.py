"""The OpenAPI 3.1 document, built from the route table and the pydantic models that validate
request bodies, and a page that shows it (no script, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.gateway.middleware import public
from services.gateway.render import json_response
from services.gateway.routes import Route, all_routes

_PARAMETER = re.compile(r"\{(\w+)\}")
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
_ERRORS = {
    "400": "`ValidationError` (with field details), `InvalidParameter` or `InvalidContent`",
    "403": "`NotAuthorized`: a missing or invalid token, or a key not allowed here",
    "404": "`ResourceNotFound`",
    "409": "`ResourceConflict` (or `IdempotencyKeyInUse`)",
    "429": "`TooManyRequests`, with Retry-After",
    "503": "`ServiceUnavailable`: the owning service did not answer in time; retry",
}
_PARAMETER_TEXT = {
    "system": "The system's slug",
    "issuer": "The issuer's slug",
    "program": "The program's slug",
    "badge": "The badge's slug",
}


def _schemas(models: set[type[BaseModel]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in sorted(models, key=lambda m: m.__name__):
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["Error"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {
                "description": "For ValidationError: one entry per invalid field",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "value": {},
                        "message": {"type": "string"},
                    },
                },
            },
            "parameter": {"type": "string", "description": "For InvalidParameter"},
        },
    }
    return schemas


def _operation(route: Route) -> dict[str, Any]:
    is_public = getattr(route.handler, "plaudit_public", False)
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": _PARAMETER_TEXT.get(name, name),
        }
        for name in _PARAMETER.findall(route.path)
    ]
    if route.paged:
        parameters += [
            {"name": name, "in": "query", "schema": {"type": "integer", "minimum": 1}}
            for name in ("page", "count")
        ]
    parameters += [
        {"name": name, "in": "query", "schema": {"type": "string"}} for name in route.query
    ]
    if route.method == "POST" and not is_public:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Replays the first response for 24 hours",
            }
        )
    responses: dict[str, Any] = {
        str(route.status): {"description": "Success", "content": {"application/json": {}}}
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in _ERRORS.items():
        if status == "403" and is_public:
            continue
        responses[status] = {"description": text, **error}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.handler.__name__}_{route.method.lower()}_{_slug(route.path)}",
        "parameters": parameters,
        "responses": responses,
    }
    if route.body is not None:
        reference = {"$ref": f"#/components/schemas/{route.body.__name__}"}
        operation["requestBody"] = {
            "required": True,
            "content": {media: {"schema": reference} for media in _BODY_TYPES},
        }
    operation["security"] = [] if is_public else [{"BadgeKitJWT": []}]
    return operation


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "root"


@cache
def document(version: str) -> dict[str, Any]:
    routes = [route for route in all_routes() if route.path not in ("/openapi.json", "/docs")]
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    models = {route.body for route in routes if route.body is not None}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Plaudit",
            "version": version,
            "description": (
                "The BadgeKit API, compatible (same routes, bodies and errors, its bugs fixed),"
                " and Plaudit's own resources. Sign each request with a JWT as BadgeKit does:"
                ' `Authorization: JWT token="<jwt>"` (HS256) with the claims `key`, `method`,'
                " `path`, `exp` and, for a body, `body: {alg: sha256, hash}`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(models),
            "securitySchemes": {
                "BadgeKitJWT": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": 'JWT token="<jwt>" (or Bearer <jwt>), signed with HS256',
                }
            },
        },
    }


def _page(spec: dict[str, Any]) -> str:
    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            model = ""
            if body:
                ref = body["content"]["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[1]
                model = f'<a href="#{html.escape(name)}">{html.escape(name)}</a>'
            lock = "" if operation["security"] else " (public)"
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code>"
                f"</td><td>{html.escape(operation['summary'])}{lock}</td><td>{model}</td></tr>"
            )
    schemas = []
    for name, schema in spec["components"]["schemas"].items():
        required = set(schema.get("required", []))
        fields = "".join(
            f"<li><code>{html.escape(field)}</code>{' (required)' if field in required else ''}"
            f"{_described(prop)}</li>"
            for field, prop in schema.get("properties", {}).items()
        )
        schemas.append(f'<h3 id="{html.escape(name)}">{html.escape(name)}</h3><ul>{fields}</ul>')
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Plaudit API</title>"
        "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:.3em .6em}"
        "</style></head><body>"
        f"<h1>{html.escape(spec['info']['title'])} API {html.escape(spec['info']['version'])}</h1>"
        f"<p>{html.escape(spec['info']['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>'
        f"<h2>Routes</h2><table>{''.join(rows)}</table>"
        f"<h2>Request bodies</h2>{''.join(schemas)}</body></html>"
    )


def _described(prop: dict[str, Any]) -> str:
    description = prop.get("description")
    return f": {html.escape(str(description))}" if description else ""


def _version() -> str:
    from services.gateway.handlers.health import VERSION

    return VERSION


@public
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(document(_version()))


@public
async def docs(request: web.Request) -> web.Response:
    return web.Response(text=_page(document(_version())), content_type="text/html")


ROUTES = [
    Route("GET", "/openapi.json", openapi_json, "This API as an OpenAPI 3.1 document", "docs"),
    Route("GET", "/docs", docs, "This API as a page to read", "docs"),
]
