"""Webhook endpoints of a system and their deliveries (answered by the webhooks service)."""

from __future__ import annotations

from typing import Literal, cast

from aiohttp import web

from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.webhooks import (
    DeliveriesAccepted,
    Delivery,
    NewWebhook,
    RotatedSecret,
    Webhook,
)
from services.gateway.routes import SYSTEM, Route
from services.gateway.validation import choice, pagination
from services.gateway.views.common import ask, fields_of, location, path_system
from shared.messages.webhooks import (
    CreateEndpoint,
    DeleteEndpoint,
    EndpointChanges,
    EndpointFields,
    GetEndpoint,
    ListDeliveries,
    ListEndpoints,
    RecoverDeliveries,
    Recovery,
    RetryDelivery,
    RotateEndpointSecret,
    TestEndpoint,
    UpdateEndpoint,
)

Status = Literal["pending", "succeeded", "failed"]
_STATUSES = {status: status for status in ("pending", "succeeded", "failed")}


def _accepted(deliveries: list[str]) -> web.Response:
    return json_response({"status": "accepted", "deliveries": deliveries}, status=202)


async def create_webhook(request: web.Request) -> web.Response:
    fields = fields_of(request, EndpointFields)
    system = await path_system(request)
    command = CreateEndpoint(system_id=system.id, system=system.slug, endpoint=fields)
    webhook = await ask(request, "webhooks", command)
    path = f"/systems/{system.slug}/webhooks/{webhook['id']}"
    return created("webhook", webhook, location=location(request, path))


async def list_webhooks(request: web.Request) -> web.Response:
    page = pagination(request)
    system = await path_system(request)
    found = await ask(request, "webhooks", ListEndpoints(system_id=system.id, page=page))
    return listing("webhooks", found, page)


async def get_webhook(request: web.Request) -> web.Response:
    system = await path_system(request)
    query = GetEndpoint(system_id=system.id, id=request.match_info["webhook"])
    return json_response({"webhook": await ask(request, "webhooks", query)})


async def update_webhook(request: web.Request) -> web.Response:
    changes = fields_of(request, EndpointChanges)
    system = await path_system(request)
    command = UpdateEndpoint(system_id=system.id, id=request.match_info["webhook"], changes=changes)
    return updated("webhook", await ask(request, "webhooks", command))


async def delete_webhook(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = DeleteEndpoint(system_id=system.id, id=request.match_info["webhook"])
    return deleted("webhook", await ask(request, "webhooks", command))


async def rotate_secret(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = RotateEndpointSecret(system_id=system.id, id=request.match_info["webhook"])
    return updated("webhook", await ask(request, "webhooks", command))


async def test_webhook(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = TestEndpoint(system_id=system.id, id=request.match_info["webhook"])
    return _accepted(await ask(request, "webhooks", command))


async def list_deliveries(request: web.Request) -> web.Response:
    page = pagination(request)
    status = cast(Status | None, choice(request, "status", _STATUSES, "")) or None
    system = await path_system(request)
    query = ListDeliveries(
        system_id=system.id, id=request.match_info["webhook"], status=status, page=page
    )
    return listing("deliveries", await ask(request, "webhooks", query), page)


async def retry_delivery(request: web.Request) -> web.Response:
    system = await path_system(request)
    command = RetryDelivery(
        system_id=system.id,
        id=request.match_info["webhook"],
        delivery_id=request.match_info["delivery"],
    )
    return _accepted(await ask(request, "webhooks", command))


async def recover(request: web.Request) -> web.Response:
    window = fields_of(request, Recovery)
    system = await path_system(request)
    command = RecoverDeliveries(
        system_id=system.id, id=request.match_info["webhook"], window=window
    )
    return _accepted(await ask(request, "webhooks", command))


W = f"{SYSTEM}/webhooks"
E = f"{W}/{{webhook}}"
ROUTES = [
    Route(
        "POST",
        W,
        create_webhook,
        "Register a webhook endpoint (its secret shown once)",
        "webhooks",
        EndpointFields,
        201,
        reply=envelopes.created("webhook", NewWebhook),
    ),
    Route(
        "GET",
        W,
        list_webhooks,
        "List webhook endpoints",
        "webhooks",
        paged=True,
        reply=envelopes.listing("webhooks", Webhook),
    ),
    Route(
        "GET",
        E,
        get_webhook,
        "A webhook endpoint",
        "webhooks",
        reply=envelopes.reply("webhook", Webhook),
    ),
    Route(
        "PUT",
        E,
        update_webhook,
        "Update an endpoint (enabled: true re-enables it)",
        "webhooks",
        EndpointChanges,
        reply=envelopes.updated("webhook", Webhook),
    ),
    Route(
        "DELETE",
        E,
        delete_webhook,
        "Delete an endpoint and its delivery log",
        "webhooks",
        reply=envelopes.deleted("webhook", Webhook),
    ),
    Route(
        "POST",
        f"{E}/rotate-secret",
        rotate_secret,
        "A new secret; the old one signs too for the overlap",
        "webhooks",
        reply=envelopes.updated("webhook", RotatedSecret),
    ),
    Route(
        "POST",
        f"{E}/test",
        test_webhook,
        "Send a webhook.test event to this endpoint",
        "webhooks",
        status=202,
        reply=DeliveriesAccepted,
    ),
    Route(
        "GET",
        f"{E}/deliveries",
        list_deliveries,
        "The delivery log, every attempt",
        "webhooks",
        paged=True,
        query=("status",),
        reply=envelopes.listing("deliveries", Delivery),
    ),
    Route(
        "POST",
        f"{E}/deliveries/{{delivery}}/retry",
        retry_delivery,
        "Send one delivery again",
        "webhooks",
        status=202,
        reply=DeliveriesAccepted,
    ),
    Route(
        "POST",
        f"{E}/recover",
        recover,
        "Replay every failed delivery since a time",
        "webhooks",
        Recovery,
        202,
        reply=DeliveriesAccepted,
    ),
]
