"""The OpenAPI 3.1 document of a route table, built from its routes and the pydantic models that
validate request bodies and declare replies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import (
    GenerateJsonSchema,
    JsonSchemaMode,
    JsonSchemaValue,
    models_json_schema,
)
from pydantic_core import core_schema

from services.gateway.responses.envelopes import Shown
from services.gateway.responses.examples import example_of
from services.gateway.routes import Raw, Reply, Route
from shared.messages.fields import MAX_PAGE

# The document itself, and the page (and its files) that show it.
UNDOCUMENTED = ("/openapi.json", "/docs", "/docs/assets/{file}")
_PARAMETER = re.compile(r"\{(\w+)\}")
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
_REF = "#/components/schemas/{model}"
_PARAMETER_TEXT = {
    "system": "The system's slug",
    "issuer": "The issuer's slug",
    "program": "The program's slug",
    "badge": "The badge's slug",
    "code": "The claim code",
    "email": "The recipient's email",
    "application": "The application's slug",
    "review": "The review's slug",
    "milestone": "The milestone's id",
    "key": "The API key",
    "credential": "The credential's id",
    "webhook": "The webhook endpoint's id",
    "delivery": "The delivery's id",
    "image": "The image's slug",
    "slug": "The award's slug",
}
_QUERY_TEXT = {
    "archived": "`true`/`1`: archived only; `false`/`0` (the default): unarchived; `any`: all",
    "processed": "`true`/`1`: processed only; `false`/`0`: unprocessed; `any` (the default)",
    "email": "Only the applications of this learner",
    "status": "Only those in this status",
}
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "archived": {"type": "string", "enum": ["true", "1", "false", "0", "any", ""]},
    "processed": {"type": "string", "enum": ["true", "1", "false", "0", "any"]},
    "email": {"type": "string"},
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
_LOCATION = {
    "Location": {
        "description": "The absolute URL of what was created",
        "schema": {"type": "string", "format": "uri"},
    }
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` on the stored reply to an earlier request with this Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_PAGE = {"text/html": {"schema": {"type": "string", "description": "A page for people"}}}
_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "html"]},
    "description": (
        "`json`: the JSON whatever the headers; `html`: the page. Without it, the page goes to"
        " a client whose `Accept` prefers `text/html` and to link-preview crawlers (by"
        " User-Agent), the JSON to everyone else; the answer carries `Vary: Accept, User-Agent`"
    ),
}
# Visible ASCII, as the idempotency middleware checks it.
_IDEMPOTENCY_KEY = {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"}
_ERRORS = {
    400: (
        "`ValidationError` (`details`: one entry per invalid field), `InvalidParameter` (a query"
        " parameter or the Idempotency-Key header; `parameter` names it) or `InvalidContent`"
        " (a body that does not parse)"
    ),
    403: "`NotAuthorized`: a missing or invalid token, or a key not allowed here",
    404: "`ResourceNotFound`",
    409: (
        "`ResourceConflict` (`details`: what was submitted, or what it conflicts with), or"
        " `IdempotencyKeyInUse` while the first request with this Idempotency-Key runs"
    ),
    413: "`RequestEntityTooLarge`: the body is over 4 MiB",
    415: "`UnsupportedMediaType`: send JSON, a form or multipart",
    422: "`IdempotencyKeyMismatch`: this Idempotency-Key came with another body before",
    429: "`TooManyRequests`: this key's rate limit; retry after Retry-After seconds",
    503: (
        "`ServiceUnavailable`: the owning service (or the broker) did not answer in time;"
        " retry after Retry-After seconds"
    ),
}
_FIELD_PROBLEM = {
    "type": "object",
    "required": ["field", "value", "message"],
    "properties": {
        "field": {"type": "string", "examples": ["criteriaUrl"]},
        "value": {
            "type": ["string", "number", "boolean"],
            "description": "The value given ('' for a missing or non-scalar one)",
            "examples": ["not a url"],
        },
        "message": {"type": "string", "examples": ["Invalid URL"]},
    },
}
_ERROR = {
    "type": "object",
    "description": "BadgeKit's error body",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "examples": ["ValidationError"]},
        "message": {"type": "string", "examples": ["Could not validate required fields"]},
        "details": {
            "description": (
                "ValidationError: one entry per invalid field. ResourceConflict: an object,"
                " the fields submitted or what they conflict with (`{assertionUrl}` of the"
                " award an email already holds)"
            ),
            "anyOf": [
                {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}},
                {"type": "object"},
            ],
        },
        "parameter": {"type": "string", "description": "InvalidParameter: the parameter's name"},
    },
}


class _Schemas(GenerateJsonSchema):
    """Reply models refuse unknown keys when the tests validate replies, but the document leaves
    their objects open: a client must keep working when a reply gains a key."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # a field's title would only repeat its name

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        if issubclass(schema["cls"], Shown):
            json_schema.pop("additionalProperties", None)
        return json_schema


def _models(routes: list[Route]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every model the routes name: request bodies as they validate, replies as they show."""
    models: dict[type[BaseModel], JsonSchemaMode] = {}
    for route in routes:
        if route.body is not None:
            models[route.body] = "validation"
        for reply in (route.reply, *(answer.reply for answer in route.also)):
            if isinstance(reply, type):
                models[reply] = "serialization"
    return sorted(models.items(), key=lambda item: item[0].__name__)


def _schemas(routes: list[Route]) -> dict[str, Any]:
    _, found = models_json_schema(
        _models(routes), by_alias=True, ref_template=_REF, schema_generator=_Schemas
    )
    schemas: dict[str, Any] = dict(sorted(found.get("$defs", {}).items()))
    schemas["Error"] = _ERROR
    schemas["FieldProblem"] = _FIELD_PROBLEM
    return schemas


def _content(reply: Reply, schemas: dict[str, Any]) -> dict[str, Any]:
    if reply is None:
        return {}
    if isinstance(reply, Raw):
        return {"content": {reply.media_type: {"schema": reply.schema}}}
    reference = {"$ref": _REF.format(model=reply.__name__)}
    example = example_of(reference, schemas)
    return {"content": {"application/json": {"schema": reference, "example": example}}}


def _success_headers(route: Route, is_public: bool) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if route.status == 201 or (route.status == 202 and route.body is not None):
        headers.update(_LOCATION)
    if route.method == "POST" and not is_public:
        headers.update(_REPLAYED)
    return headers


def _error_statuses(route: Route, is_public: bool) -> list[int]:
    """The errors a route can answer, from what it takes and what the middlewares check."""
    authenticated = not is_public
    signed_post = authenticated and route.method == "POST"
    conditions = {
        400: route.body is not None
        or bool(route.query)
        or route.paged
        or route.page  # its `format` parameter
        or signed_post,
        403: authenticated,
        404: bool(_PARAMETER.search(route.path)),
        409: signed_post,
        413: authenticated,
        415: route.body is not None,
        422: signed_post,
        429: authenticated,
        503: not route.local,
    }
    return [status for status, applies in conditions.items() if applies]


def _with_page(response: dict[str, Any], route: Route) -> dict[str, Any]:
    """A response that a route answering pages (`route.page`) may also give as `text/html`."""
    if route.page:
        response["content"] = {**response.get("content", {}), **_PAGE}
    return response


def _responses(route: Route, is_public: bool, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(route.status): _with_page(
            {
                "description": "Success",
                **_content(route.reply, schemas),
                **({"headers": h} if (h := _success_headers(route, is_public)) else {}),
            },
            route,
        )
    }
    for answer in route.also:
        responses[str(answer.status)] = _with_page(
            {"description": answer.description, **_content(answer.reply, schemas)}, route
        )
    error = {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}
    for status in _error_statuses(route, is_public):
        responses[str(status)] = _with_page(
            {"description": _ERRORS[status], "content": dict(error)}, route
        )
        if status in (429, 503):
            responses[str(status)]["headers"] = _RETRY_AFTER
    return responses


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
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
            {
                "name": name,
                "in": "query",
                "schema": schema,
                "description": "BadgeKit's paging: both page and count, or neither",
            }
            for name, schema in (
                ("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                # Larger counts are served as MAX_COUNT.
                ("count", {"type": "integer", "minimum": 1}),
            )
        ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "schema": _QUERY_SCHEMAS.get(name, {"type": "string"}),
            "description": _QUERY_TEXT.get(name, name),
        }
        for name in route.query
    ]
    if route.page:
        parameters.append(_FORMAT)
    if route.method == "POST" and not is_public:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": _IDEMPOTENCY_KEY,
                "description": "Replays the first response for 24 hours",
            }
        )
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.handler.__name__}_{route.method.lower()}_{_slug(route.path)}",
        "parameters": parameters,
        "responses": _responses(route, is_public, schemas),
    }
    if route.body is not None:
        reference = {"$ref": _REF.format(model=route.body.__name__)}
        operation["requestBody"] = {
            "required": True,
            "content": {media: {"schema": reference} for media in _BODY_TYPES},
        }
    elif route.request_body is not None:
        operation["requestBody"] = route.request_body
    operation["security"] = [] if is_public else [{"BadgeKitJWT": []}]
    return operation


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "root"


def document(table: Sequence[Route], version: str) -> dict[str, Any]:
    """The document of a route table (the routes that serve the document itself left out)."""
    routes = [route for route in table if route.path not in UNDOCUMENTED]
    schemas = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
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
            "schemas": schemas,
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
