"""Applications for a badge (BadgeKit's `{C}/applications` and `{B}/applications`)."""

from __future__ import annotations

from typing import cast

from aiohttp import web

from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.awards import Application
from services.gateway.routes import in_contexts
from services.gateway.validation import choice, pagination
from services.gateway.views.common import ask_badges, fields_of, here, scope
from shared.messages.applications import (
    ApplicationChanges,
    ApplicationFields,
    CreateApplication,
    DeleteApplication,
    GetApplication,
    ListApplications,
    Processed,
    UpdateApplication,
)

_PROCESSED = {"true": "true", "1": "true", "false": "false", "0": "false", "any": "any"}


def processed(request: web.Request) -> Processed:
    """BadgeKit's `processed` filter: every application unless asked otherwise."""
    return cast(Processed, choice(request, "processed", _PROCESSED, "any"))


async def list_applications(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListApplications(
        scope=scope(request),
        badge=request.match_info.get("badge"),
        processed=processed(request),
        email=request.query.get("email") or None,
        page=page,
    )
    return listing("applications", await ask_badges(request, query), page)


async def create_application(request: web.Request) -> web.Response:
    command = CreateApplication(
        scope=scope(request),
        badge=request.match_info["badge"],
        application=fields_of(request, ApplicationFields),
    )
    application = await ask_badges(request, command)
    return created("application", application, location=here(request, application["slug"]))


async def get_application(request: web.Request) -> web.Response:
    match = request.match_info
    query = GetApplication(scope=scope(request), badge=match["badge"], slug=match["application"])
    return json_response({"application": await ask_badges(request, query)})


async def update_application(request: web.Request) -> web.Response:
    match = request.match_info
    command = UpdateApplication(
        scope=scope(request),
        badge=match["badge"],
        slug=match["application"],
        changes=fields_of(request, ApplicationChanges),
    )
    return updated("application", await ask_badges(request, command))


async def delete_application(request: web.Request) -> web.Response:
    match = request.match_info
    command = DeleteApplication(
        scope=scope(request), badge=match["badge"], slug=match["application"]
    )
    return deleted("application", await ask_badges(request, command))


FILTERS = ("processed", "email")
A = "/badges/{badge}/applications"
APPLICATIONS = envelopes.listing("applications", Application)
ROUTES = [
    *in_contexts(
        "GET",
        "/applications",
        list_applications,
        "List the applications for every badge here and below",
        "applications",
        paged=True,
        query=FILTERS,
        reply=APPLICATIONS,
    ),
    *in_contexts(
        "GET",
        A,
        list_applications,
        "List a badge's applications",
        "applications",
        paged=True,
        query=FILTERS,
        reply=APPLICATIONS,
    ),
    *in_contexts(
        "POST",
        A,
        create_application,
        "Apply for a badge",
        "applications",
        ApplicationFields,
        201,
        reply=envelopes.created("application", Application),
    ),
    *in_contexts(
        "GET",
        f"{A}/{{application}}",
        get_application,
        "Get an application",
        "applications",
        reply=envelopes.reply("application", Application),
    ),
    *in_contexts(
        "PUT",
        f"{A}/{{application}}",
        update_application,
        "Update an application (`processed: true` marks it processed)",
        "applications",
        ApplicationChanges,
        reply=envelopes.updated("application", Application),
    ),
    *in_contexts(
        "DELETE",
        f"{A}/{{application}}",
        delete_application,
        "Delete an application, its evidence and its reviews",
        "applications",
        reply=envelopes.deleted("application", Application),
    ),
]
