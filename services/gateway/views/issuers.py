"""Issuers of a system and programs of an issuer."""

from __future__ import annotations

from aiohttp import web

from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.organizations import Issuer, Program
from services.gateway.routes import ISSUER, PROGRAM, SYSTEM, Route
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_with_image, here, scope
from shared.messages.issuers import (
    CreateIssuer,
    CreateProgram,
    DeleteIssuer,
    DeleteProgram,
    GetIssuer,
    GetProgram,
    ListIssuers,
    ListPrograms,
    UpdateIssuer,
    UpdateProgram,
)
from shared.messages.systems import OrganizationChanges, OrganizationFields


async def list_issuers(request: web.Request) -> web.Response:
    page = pagination(request)
    found = await ask_badges(request, ListIssuers(scope=scope(request), page=page))
    return listing("issuers", found, page)


async def create_issuer(request: web.Request) -> web.Response:
    fields, image = fields_with_image(request, OrganizationFields)
    issuer = await ask_badges(
        request, CreateIssuer(scope=scope(request), issuer=fields, image=image)
    )
    return created("issuer", issuer, location=here(request, issuer["slug"]))


async def get_issuer(request: web.Request) -> web.Response:
    return json_response({"issuer": await ask_badges(request, GetIssuer(scope=scope(request)))})


async def update_issuer(request: web.Request) -> web.Response:
    changes, image = fields_with_image(request, OrganizationChanges)
    command = UpdateIssuer(scope=scope(request), changes=changes, image=image)
    return updated("issuer", await ask_badges(request, command))


async def delete_issuer(request: web.Request) -> web.Response:
    return deleted("issuer", await ask_badges(request, DeleteIssuer(scope=scope(request))))


async def list_programs(request: web.Request) -> web.Response:
    page = pagination(request)
    found = await ask_badges(request, ListPrograms(scope=scope(request), page=page))
    return listing("programs", found, page)


async def create_program(request: web.Request) -> web.Response:
    fields, image = fields_with_image(request, OrganizationFields)
    command = CreateProgram(scope=scope(request), program=fields, image=image)
    program = await ask_badges(request, command)
    return created("program", program, location=here(request, program["slug"]))


async def get_program(request: web.Request) -> web.Response:
    return json_response({"program": await ask_badges(request, GetProgram(scope=scope(request)))})


async def update_program(request: web.Request) -> web.Response:
    changes, image = fields_with_image(request, OrganizationChanges)
    command = UpdateProgram(scope=scope(request), changes=changes, image=image)
    return updated("program", await ask_badges(request, command))


async def delete_program(request: web.Request) -> web.Response:
    return deleted("program", await ask_badges(request, DeleteProgram(scope=scope(request))))


ROUTES = [
    Route(
        "GET",
        f"{SYSTEM}/issuers",
        list_issuers,
        "List a system's issuers",
        "issuers",
        paged=True,
        reply=envelopes.listing("issuers", Issuer),
    ),
    Route(
        "POST",
        f"{SYSTEM}/issuers",
        create_issuer,
        "Create an issuer",
        "issuers",
        OrganizationFields,
        201,
        reply=envelopes.created("issuer", Issuer),
    ),
    Route(
        "GET",
        ISSUER,
        get_issuer,
        "Get an issuer, with its programs",
        "issuers",
        reply=envelopes.reply("issuer", Issuer),
    ),
    Route(
        "PUT",
        ISSUER,
        update_issuer,
        "Update an issuer",
        "issuers",
        OrganizationChanges,
        reply=envelopes.updated("issuer", Issuer),
    ),
    Route(
        "DELETE",
        ISSUER,
        delete_issuer,
        "Delete an issuer, its programs and badges",
        "issuers",
        reply=envelopes.deleted("issuer", Issuer),
    ),
    Route(
        "GET",
        f"{ISSUER}/programs",
        list_programs,
        "List an issuer's programs",
        "programs",
        paged=True,
        reply=envelopes.listing("programs", Program),
    ),
    Route(
        "POST",
        f"{ISSUER}/programs",
        create_program,
        "Create a program",
        "programs",
        OrganizationFields,
        201,
        reply=envelopes.created("program", Program),
    ),
    Route(
        "GET",
        PROGRAM,
        get_program,
        "Get a program",
        "programs",
        reply=envelopes.reply("program", Program),
    ),
    Route(
        "PUT",
        PROGRAM,
        update_program,
        "Update a program",
        "programs",
        OrganizationChanges,
        reply=envelopes.updated("program", Program),
    ),
    Route(
        "DELETE",
        PROGRAM,
        delete_program,
        "Delete a program and its badges",
        "programs",
        reply=envelopes.deleted("program", Program),
    ),
]
