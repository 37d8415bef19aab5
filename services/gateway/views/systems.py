"""Systems (the tenants) and their API consumer keys."""

from __future__ import annotations

from aiohttp import web

from services.gateway.keys import systems_key
from services.gateway.middleware import master_only
from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.organizations import Consumer, NewConsumer, System
from services.gateway.routes import Route
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_of, fields_with_image, location
from shared.messages.systems import (
    ConsumerFields,
    CreateConsumer,
    CreateSystem,
    DeleteConsumer,
    DeleteSystem,
    GetSystem,
    ListConsumers,
    ListSystems,
    OrganizationChanges,
    OrganizationFields,
    UpdateSystem,
)


@master_only
async def list_systems(request: web.Request) -> web.Response:
    page = pagination(request)
    return listing("systems", await ask_badges(request, ListSystems(page=page)), page)


@master_only
async def create_system(request: web.Request) -> web.Response:
    fields, image = fields_with_image(request, OrganizationFields)
    system = await ask_badges(request, CreateSystem(system=fields, image=image))
    # This process may remember the slug as unknown; other gateways forget that within a second.
    request.app[systems_key].forget(system["slug"])
    return created("system", system, location=location(request, f"/systems/{system['slug']}"))


async def get_system(request: web.Request) -> web.Response:
    system = await ask_badges(request, GetSystem(slug=request.match_info["system"]))
    return json_response({"system": system})


async def update_system(request: web.Request) -> web.Response:
    changes, image = fields_with_image(request, OrganizationChanges)
    command = UpdateSystem(slug=request.match_info["system"], changes=changes, image=image)
    return updated("system", await ask_badges(request, command))


@master_only
async def delete_system(request: web.Request) -> web.Response:
    slug = request.match_info["system"]
    system = await ask_badges(request, DeleteSystem(slug=slug))
    # At once here, before the client can take the slug again; `system.deleted` tells the
    # other gateways.
    request.app[systems_key].forget(slug)
    return deleted("system", system)


@master_only
async def create_consumer(request: web.Request) -> web.Response:
    system = request.match_info["system"]
    command = CreateConsumer(system=system, consumer=fields_of(request, ConsumerFields))
    consumer = await ask_badges(request, command)
    path = f"/systems/{system}/consumers/{consumer['apiKey']}"
    return created("consumer", consumer, location=location(request, path))


@master_only
async def list_consumers(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListConsumers(system=request.match_info["system"], page=page)
    return listing("consumers", await ask_badges(request, query), page)


@master_only
async def delete_consumer(request: web.Request) -> web.Response:
    command = DeleteConsumer(system=request.match_info["system"], api_key=request.match_info["key"])
    return deleted("consumer", await ask_badges(request, command))


S = "/systems/{system}"
ROUTES = [
    Route(
        "GET",
        "/systems",
        list_systems,
        "List systems",
        "systems",
        paged=True,
        reply=envelopes.listing("systems", System),
    ),
    Route(
        "POST",
        "/systems",
        create_system,
        "Create a system",
        "systems",
        OrganizationFields,
        201,
        reply=envelopes.created("system", System),
    ),
    Route(
        "GET",
        S,
        get_system,
        "Get a system, with its issuers",
        "systems",
        reply=envelopes.reply("system", System),
    ),
    Route(
        "PUT",
        S,
        update_system,
        "Update a system",
        "systems",
        OrganizationChanges,
        reply=envelopes.updated("system", System),
    ),
    Route(
        "DELETE",
        S,
        delete_system,
        "Delete a system and everything in it",
        "systems",
        reply=envelopes.deleted("system", System),
    ),
    Route(
        "GET",
        f"{S}/consumers",
        list_consumers,
        "List API keys",
        "consumers",
        paged=True,
        reply=envelopes.listing("consumers", Consumer),
    ),
    Route(
        "POST",
        f"{S}/consumers",
        create_consumer,
        "Create an API key",
        "consumers",
        ConsumerFields,
        201,
        reply=envelopes.created("consumer", NewConsumer),
    ),
    Route(
        "DELETE",
        f"{S}/consumers/{{key}}",
        delete_consumer,
        "Delete an API key",
        "consumers",
        reply=envelopes.deleted("consumer", Consumer),
    ),
]
