"""Milestones of a system (BadgeKit's `/systems/:system/milestones`)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.awards import Milestone
from services.gateway.routes import SYSTEM, Route
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_of, here
from shared.messages.milestones import (
    AddMilestoneBadge,
    CreateMilestone,
    DeleteMilestone,
    GetMilestone,
    ListMilestones,
    MilestoneBadge,
    MilestoneChanges,
    MilestoneFields,
    RemoveMilestoneBadge,
    UpdateMilestone,
)


async def list_milestones(request: web.Request) -> web.Response:
    page = pagination(request)
    query = ListMilestones(system=request.match_info["system"], page=page)
    return listing("milestones", await ask_badges(request, query), page)


async def create_milestone(request: web.Request) -> web.Response:
    command = CreateMilestone(
        system=request.match_info["system"], milestone=fields_of(request, MilestoneFields)
    )
    milestone = await ask_badges(request, command)
    return created("milestone", milestone, location=here(request, str(milestone["id"])))


async def get_milestone(request: web.Request) -> web.Response:
    match = request.match_info
    query = GetMilestone(system=match["system"], id=match["milestone"])
    return json_response({"milestone": await ask_badges(request, query)})


async def update_milestone(request: web.Request) -> web.Response:
    match = request.match_info
    command = UpdateMilestone(
        system=match["system"],
        id=match["milestone"],
        changes=fields_of(request, MilestoneChanges),
    )
    return updated("milestone", await ask_badges(request, command))


async def delete_milestone(request: web.Request) -> web.Response:
    match = request.match_info
    command = DeleteMilestone(system=match["system"], id=match["milestone"])
    return deleted("milestone", await ask_badges(request, command))


async def add_badge(request: web.Request) -> web.Response:
    match = request.match_info
    badge_id = fields_of(request, MilestoneBadge).badge_id
    command = AddMilestoneBadge(system=match["system"], id=match["milestone"], badge_id=badge_id)
    return updated("milestone", await ask_badges(request, command))


async def remove_badge(request: web.Request) -> web.Response:
    match = request.match_info
    badge_id = fields_of(request, MilestoneBadge).badge_id
    command = RemoveMilestoneBadge(system=match["system"], id=match["milestone"], badge_id=badge_id)
    return updated("milestone", await ask_badges(request, command))


MILESTONES = f"{SYSTEM}/milestones"
M = f"{MILESTONES}/{{milestone}}"
UPDATED = envelopes.updated("milestone", Milestone)
ROUTES = [
    Route(
        "GET",
        MILESTONES,
        list_milestones,
        "List a system's milestones",
        "milestones",
        paged=True,
        reply=envelopes.listing("milestones", Milestone),
    ),
    Route(
        "POST",
        MILESTONES,
        create_milestone,
        "Create a milestone (its badges must be the system's own)",
        "milestones",
        MilestoneFields,
        201,
        reply=envelopes.created("milestone", Milestone),
    ),
    Route(
        "GET",
        M,
        get_milestone,
        "Get a milestone",
        "milestones",
        reply=envelopes.reply("milestone", Milestone),
    ),
    Route(
        "PUT",
        M,
        update_milestone,
        "Update a milestone; its support badges change only when given",
        "milestones",
        MilestoneChanges,
        reply=UPDATED,
    ),
    Route(
        "DELETE",
        M,
        delete_milestone,
        "Delete a milestone",
        "milestones",
        reply=envelopes.deleted("milestone", Milestone),
    ),
    Route(
        "POST",
        f"{M}/add-badge",
        add_badge,
        "Add a support badge (idempotent)",
        "milestones",
        MilestoneBadge,
        reply=UPDATED,
    ),
    Route(
        "POST",
        f"{M}/remove-badge",
        remove_badge,
        "Remove a support badge (idempotent)",
        "milestones",
        MilestoneBadge,
        reply=UPDATED,
    ),
]
