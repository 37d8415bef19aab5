"""Badges in a system, an issuer or a program (BadgeKit's `{C}/badges`)."""

from __future__ import annotations

from typing import Any, Literal, cast

from aiohttp import web

from services.gateway.images import image_fields
from services.gateway.middleware import public
from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.awards import BadgeWithMilestones
from services.gateway.responses.badges import Badge
from services.gateway.responses.public import BadgeLocation
from services.gateway.routes import Route, in_contexts
from services.gateway.validation import choice, pagination, validate
from services.gateway.views.common import ask_badges, body, cached_read, here, scope
from shared.messages.badges import (
    BadgeChanges,
    BadgeFields,
    CreateBadge,
    DeleteBadge,
    GetBadge,
    ListBadges,
    ListPublicBadges,
    UpdateBadge,
)

Archived = Literal["true", "false", "any"]
_ARCHIVED = {"true": "true", "1": "true", "false": "false", "0": "false", "any": "any", "": "any"}


def archived(request: web.Request) -> Archived:
    """BadgeKit's `archived` filter: unarchived badges unless asked otherwise."""
    return cast(Archived, choice(request, "archived", _ARCHIVED, "false"))


def _in_scope(query: ListBadges | GetBadge, _answer: Any) -> str:
    return query.scope.system


def _badge_list(query: ListBadges, found: Any) -> web.Response:
    return listing("badges", found, query.page)


async def list_badges(request: web.Request) -> web.Response:
    query = ListBadges(scope=scope(request), archived=archived(request), page=pagination(request))
    return await cached_read(request, query, _badge_list, _in_scope)


async def create_badge(request: web.Request) -> web.Response:
    fields, image = image_fields(body(request))
    missing_image = (
        []
        if image or fields.get("imageUrl")
        else [{"field": "image", "value": "", "message": "Missing value"}]
    )
    badge_fields = validate(BadgeFields, fields, missing_image)
    command = CreateBadge(scope=scope(request), badge=badge_fields, image=image)
    badge = await ask_badges(request, command)
    return created("badge", badge, location=here(request, badge["slug"]))


def _badge(_query: GetBadge, found: Any) -> web.Response:
    return json_response({"badge": found})


async def get_badge(request: web.Request) -> web.Response:
    query = GetBadge(scope=scope(request), slug=request.match_info["badge"])
    return await cached_read(request, query, _badge, _in_scope)


async def update_badge(request: web.Request) -> web.Response:
    fields, image = image_fields(body(request))
    command = UpdateBadge(
        scope=scope(request),
        slug=request.match_info["badge"],
        changes=validate(BadgeChanges, fields),
        image=image,
    )
    return updated("badge", await ask_badges(request, command))


async def delete_badge(request: web.Request) -> web.Response:
    command = DeleteBadge(scope=scope(request), slug=request.match_info["badge"])
    return deleted("badge", await ask_badges(request, command))


@public
async def list_public_badges(request: web.Request) -> web.Response:
    page = pagination(request)
    found = await ask_badges(request, ListPublicBadges(archived=archived(request), page=page))
    return listing("badgelist", found, page)


B = "/badges/{badge}"
ROUTES = [
    *in_contexts(
        "GET",
        "/badges",
        list_badges,
        "List badges here and below",
        "badges",
        paged=True,
        query=("archived",),
        reply=envelopes.listing("badges", Badge),
    ),
    *in_contexts(
        "POST",
        "/badges",
        create_badge,
        "Create a badge",
        "badges",
        BadgeFields,
        201,
        reply=envelopes.created("badge", Badge),
    ),
    *in_contexts(
        "GET",
        B,
        get_badge,
        "Get a badge, with the milestones it is the primary badge of",
        "badges",
        reply=envelopes.reply("badge", BadgeWithMilestones),
    ),
    *in_contexts(
        "PUT",
        B,
        update_badge,
        "Update a badge",
        "badges",
        BadgeChanges,
        reply=envelopes.updated("badge", Badge),
    ),
    *in_contexts(
        "DELETE",
        B,
        delete_badge,
        "Delete a badge and everything it carries",
        "badges",
        reply=envelopes.deleted("badge", Badge),
    ),
    Route(
        "GET",
        "/public/badges",
        list_public_badges,
        "Every badge's public BadgeClass URL",
        "public",
        paged=True,
        query=("archived",),
        reply=envelopes.listing("badgelist", BadgeLocation),
    ),
]
