"""Open Campus credentials of a system, and its Open Campus API key (answered by the issuer)."""

from __future__ import annotations

from typing import Any, Literal, cast

import structlog
from aiohttp import web

from services.gateway.render import json_response, listing
from services.gateway.responses import envelopes
from services.gateway.responses.credentials import (
    AcceptedCredential,
    Credential,
    OpenCampusSettings,
)
from services.gateway.routes import SYSTEM, Answer, Route
from services.gateway.validation import choice, pagination, validate
from services.gateway.views.common import arriving, ask, ask_badges, body, location, path_system
from shared.errors import NotFound, ValidationFailed
from shared.messages.credentials import (
    GetCredential,
    GetOpenCampusSettings,
    HoldsCredential,
    ListCredentials,
    RequestCredential,
    RetryCredential,
    SetOpenCampusKey,
)
from shared.messages.fields import Fields
from shared.opencampus import InvalidIssueRequest, IssueRequest, validate_issue_request

log = structlog.get_logger()

Status = Literal["pending", "issued", "failed", "cancelled"]
_STATUSES = {status: status for status in ("pending", "issued", "failed", "cancelled")}


class OpenCampusKey(Fields):
    api_key: str


async def put_open_campus(request: web.Request) -> web.Response:
    fields = validate(OpenCampusKey, body(request).fields)
    if not fields.api_key.strip():
        raise ValidationFailed([{"field": "apiKey", "value": "", "message": "Required field"}])
    system = await path_system(request)
    command = SetOpenCampusKey(system_id=system.id, system=system.slug, api_key=fields.api_key)
    settings = await ask(request, "issuer", command)
    return json_response({"status": "updated", "openCampus": settings})


async def get_open_campus(request: web.Request) -> web.Response:
    system = await path_system(request)
    settings = await ask(request, "issuer", GetOpenCampusSettings(system_id=system.id))
    return json_response({"openCampus": settings})


async def request_credential(request: web.Request) -> web.Response:
    try:
        validate_issue_request(body(request).fields)
    except InvalidIssueRequest as invalid:
        raise ValidationFailed(invalid.details) from None
    system = await path_system(request)
    command = RequestCredential(system_id=system.id, system=system.slug, body=body(request).fields)
    answer: dict[str, Any] = await ask(request, "issuer", command)
    credential = answer["credential"]
    if not answer["created"]:
        return json_response({"credential": credential})
    path = f"/systems/{system.slug}/credentials/{credential['id']}"
    return json_response(
        {"status": "accepted", "credential": credential},
        status=202,
        headers={"Location": location(request, path)},
    )


async def list_credentials(request: web.Request) -> web.Response:
    page = pagination(request)
    status = cast(Status | None, choice(request, "status", _STATUSES, "")) or None
    system = await path_system(request)
    query = ListCredentials(system_id=system.id, status=status, page=page)
    return listing("credentials", await ask(request, "issuer", query), page)


async def get_credential(request: web.Request) -> web.Response:
    system = await path_system(request)
    query = GetCredential(system_id=system.id, id=request.match_info["credential"])
    try:
        credential = await ask(request, "issuer", query)
    except NotFound:
        if not await ask_badges(request, HoldsCredential(system_id=system.id, id=query.id)):
            raise
        credential = await arriving(request, "issuer", query, "The credential")
    return json_response({"credential": credential})


async def retry_credential(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = RetryCredential(system_id=system.id, id=request.match_info["credential"])
    credential = await ask(request, "issuer", command)
    return json_response({"status": "accepted", "credential": credential}, status=202)


C = f"{SYSTEM}/credentials"
ROUTES = [
    Route(
        "PUT",
        f"{SYSTEM}/open-campus",
        put_open_campus,
        "Set the system's Open Campus API key",
        "open campus",
        OpenCampusKey,
        reply=envelopes.updated("openCampus", OpenCampusSettings),
    ),
    Route(
        "GET",
        f"{SYSTEM}/open-campus",
        get_open_campus,
        "Whether the system has its own key (last 4 characters)",
        "open campus",
        reply=envelopes.reply("openCampus", OpenCampusSettings),
    ),
    Route(
        "POST",
        C,
        request_credential,
        "Issue an OCA or OCB (the Open Campus body)",
        "credentials",
        IssueRequest,
        202,
        reply=envelopes.accepted("credential", AcceptedCredential),
        also=(
            Answer(
                200,
                envelopes.reply("credential", Credential),
                "The same issuerReferenceId and body again: the credential as it is",
            ),
        ),
    ),
    Route(
        "GET",
        C,
        list_credentials,
        "List credentials",
        "credentials",
        paged=True,
        query=("status",),
        reply=envelopes.listing("credentials", Credential),
    ),
    Route(
        "GET",
        f"{C}/{{credential}}",
        get_credential,
        "A credential with every attempt",
        "credentials",
        reply=envelopes.reply("credential", Credential),
    ),
    Route(
        "POST",
        f"{C}/{{credential}}/retry",
        retry_credential,
        "Retry a failed credential",
        "credentials",
        status=202,
        reply=envelopes.accepted("credential", Credential),
    ),
]
