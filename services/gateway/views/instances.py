"""Awards (BadgeKit's badge instances): `{B}/instances` and `{C}/instances/:email`."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from services.gateway.middleware import keeps_cached_reads
from services.gateway.render import created, json_response, listing
from services.gateway.responses import envelopes
from services.gateway.responses.awards import Instance, InstancesCreated
from services.gateway.routes import in_contexts
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_of, scope
from shared.errors import ValidationFailed
from shared.messages.instances import (
    AwardBadge,
    AwardBadgeInBulk,
    AwardFields,
    BulkAwardFields,
    GetInstance,
    ListInstances,
    ListInstancesByEmail,
    RevokeBadge,
)

_EMAIL_AT = re.compile(r"emails\.(\d+)")


def _badge(request: web.Request) -> str:
    return request.match_info["badge"]


@keeps_cached_reads
async def award_badge(request: web.Request) -> web.Response:
    command = AwardBadge(
        scope=scope(request), badge=_badge(request), award=fields_of(request, AwardFields)
    )
    instance = await ask_badges(request, command)
    return created("instance", instance, location=instance["assertionUrl"])


def _per_email(detail: dict[str, Any]) -> dict[str, Any]:
    """`emails.1` as BadgeKit's clients look for it in a bulk award's details: the field
    `email`, and which one in `index`."""
    found = _EMAIL_AT.fullmatch(detail["field"])
    if found is None:
        return detail
    return {**detail, "field": "email", "index": int(found.group(1))}


@keeps_cached_reads
async def award_badge_in_bulk(request: web.Request) -> web.Response:
    try:
        fields = fields_of(request, BulkAwardFields)
    except ValidationFailed as error:
        raise ValidationFailed([_per_email(detail) for detail in error.details]) from None
    command = AwardBadgeInBulk(scope=scope(request), badge=_badge(request), award=fields)
    return created("instances", await ask_badges(request, command))


async def list_instances(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListInstances(scope=scope(request), badge=_badge(request), page=page)
    return listing("instances", await ask_badges(request, query), page)


async def get_instance(request: web.Request) -> web.Response:
    email = request.match_info["email"]
    query = GetInstance(scope=scope(request), badge=_badge(request), email=email)
    return json_response({"instance": await ask_badges(request, query)})


async def revoke_badge(request: web.Request) -> web.Response:
    email = request.match_info["email"]
    command = RevokeBadge(scope=scope(request), badge=_badge(request), email=email)
    return json_response({"instance": await ask_badges(request, command)})


async def list_instances_by_email(request: web.Request) -> web.Response:
    page = pagination(request)
    email = request.match_info["email"]
    query = ListInstancesByEmail(scope=scope(request), email=email, page=page)
    return listing("instances", await ask_badges(request, query), page)


INSTANCES = "/badges/{badge}/instances"
TAG = "instances"
ROUTES = [
    *in_contexts(
        "POST",
        INSTANCES,
        award_badge,
        "Award a badge",
        TAG,
        AwardFields,
        201,
        reply=envelopes.created("instance", Instance),
    ),
    *in_contexts(
        "POST",
        f"{INSTANCES}/bulk",
        award_badge_in_bulk,
        "Award a badge to many emails (emails holding a unique badge are skipped)",
        TAG,
        BulkAwardFields,
        201,
        reply=InstancesCreated,
    ),
    *in_contexts(
        "GET",
        INSTANCES,
        list_instances,
        "List a badge's active awards",
        TAG,
        paged=True,
        reply=envelopes.listing("instances", Instance),
    ),
    *in_contexts(
        "GET",
        f"{INSTANCES}/{{email}}",
        get_instance,
        "The newest active award to an email",
        TAG,
        reply=envelopes.reply("instance", Instance),
    ),
    *in_contexts(
        "DELETE",
        f"{INSTANCES}/{{email}}",
        revoke_badge,
        "Revoke the newest active award to an email (BadgeKit's answer: no status word)",
        TAG,
        reply=envelopes.reply("instance", Instance),
    ),
    *in_contexts(
        "GET",
        "/instances/{email}",
        list_instances_by_email,
        "Every active award to an email here and below",
        TAG,
        paged=True,
        reply=envelopes.listing("instances", Instance),
    ),
]
