"""HTTP handlers: parse and validate, send the request to its owning service, render the reply."""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway import metrics
from services.gateway.body import Body, parse_body
from services.gateway.config import APP_NAME, PROBE_TIMEOUT_S, REQUEST_TIMEOUT_S
from services.gateway.keys import body_key, bus_key, correlation_key, rpc_key, settings_key
from services.gateway.middleware import master_only, public
from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.validation import pagination, validate
from shared import topology
from shared.errors import AppError, ValidationFailed
from shared.messages.base import Message
from shared.messages.common import Ping
from shared.messages.systems import (
    ConsumerFields,
    CreateConsumer,
    CreateSystem,
    DeleteConsumer,
    DeleteSystem,
    GetSystem,
    ListConsumers,
    ListSystems,
    SystemChanges,
    SystemFields,
    UpdateSystem,
)

try:
    VERSION = version("plaudit")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was not installed
    VERSION = "0.0.0"


async def ask(request: web.Request, service: str, message: Message) -> Any:
    """Send a request to the service that owns it and return its answer."""
    return await request.app[rpc_key].call(
        service,
        message,
        correlation_id=request[correlation_key],
        timeout_s=REQUEST_TIMEOUT_S,
    )


def body(request: web.Request) -> Body:
    return parse_body(request.headers.get("Content-Type", ""), request.get(body_key, b""))


def _system_fields(request: web.Request) -> dict[str, Any]:
    """The body's fields, with BadgeKit's `image` (a URL) taken as `imageUrl`."""
    parsed = body(request)
    if "image" in parsed.files:
        raise ValidationFailed(
            [{"field": "image", "value": "", "message": "Upload images by URL (imageUrl)"}]
        )
    fields = dict(parsed.fields)
    if "image" in fields and "imageUrl" not in fields:
        fields["imageUrl"] = fields.pop("image")
    return fields


def _location(request: web.Request, path: str) -> str:
    return request.app[settings_key].base_url + path


# Health -------------------------------------------------------------------------------------


@public
async def root(request: web.Request) -> web.Response:
    return json_response({"app": APP_NAME, "version": VERSION})


@public
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@public
async def readyz(request: web.Request) -> web.Response:
    """Ready when the broker and this gateway's reply path work. Each service is reported too,
    but one service down makes only its own routes answer 503, not the whole gateway unready."""
    rpc = request.app[rpc_key]

    async def answers(service: str) -> str:
        try:
            await rpc.call(
                service, Ping(), correlation_id=request[correlation_key], timeout_s=PROBE_TIMEOUT_S
            )
        except AppError:
            return "unavailable"
        return "ok"

    reply_path, *services = await asyncio.gather(
        rpc.probe(PROBE_TIMEOUT_S), *(answers(service) for service in topology.SERVICES)
    )
    ready = request.app[bus_key].is_connected and reply_path
    return json_response(
        {
            "status": "ready" if ready else "unavailable",
            "broker": "ok" if ready else "unavailable",
            "services": dict(zip(topology.SERVICES, services, strict=True)),
        },
        status=200 if ready else 503,
    )


@public
async def prometheus(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


# Systems ------------------------------------------------------------------------------------


@master_only
async def list_systems(request: web.Request) -> web.Response:
    page = pagination(request)
    return listing("systems", await ask(request, "badges", ListSystems(page=page)), page)


@master_only
async def create_system(request: web.Request) -> web.Response:
    fields = validate(SystemFields, _system_fields(request))
    system = await ask(request, "badges", CreateSystem(system=fields))
    return created("system", system, location=_location(request, f"/systems/{system['slug']}"))


async def get_system(request: web.Request) -> web.Response:
    system = await ask(request, "badges", GetSystem(slug=request.match_info["system"]))
    return json_response({"system": system})


async def update_system(request: web.Request) -> web.Response:
    changes = validate(SystemChanges, _system_fields(request))
    slug = request.match_info["system"]
    return updated("system", await ask(request, "badges", UpdateSystem(slug=slug, changes=changes)))


@master_only
async def delete_system(request: web.Request) -> web.Response:
    slug = request.match_info["system"]
    return deleted("system", await ask(request, "badges", DeleteSystem(slug=slug)))


# API consumers --------------------------------------------------------------------------------


@master_only
async def create_consumer(request: web.Request) -> web.Response:
    fields = validate(ConsumerFields, body(request).fields)
    system = request.match_info["system"]
    consumer = await ask(request, "badges", CreateConsumer(system=system, consumer=fields))
    location = _location(request, f"/systems/{system}/consumers/{consumer['apiKey']}")
    return created("consumer", consumer, location=location)


@master_only
async def list_consumers(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListConsumers(system=request.match_info["system"], page=page)
    return listing("consumers", await ask(request, "badges", query), page)


@master_only
async def delete_consumer(request: web.Request) -> web.Response:
    command = DeleteConsumer(system=request.match_info["system"], api_key=request.match_info["key"])
    return deleted("consumer", await ask(request, "badges", command))


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", root)
    router.add_get("/healthcheck", root)
    router.add_get("/healthz", healthz)
    router.add_get("/readyz", readyz)
    router.add_get("/metrics", prometheus)
    router.add_get("/systems", list_systems)
    router.add_post("/systems", create_system)
    router.add_get("/systems/{system}", get_system)
    router.add_put("/systems/{system}", update_system)
    router.add_delete("/systems/{system}", delete_system)
    router.add_get("/systems/{system}/consumers", list_consumers)
    router.add_post("/systems/{system}/consumers", create_consumer)
    router.add_delete("/systems/{system}/consumers/{key}", delete_consumer)
