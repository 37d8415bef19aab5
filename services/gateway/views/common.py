"""What every view does: read the body, know its scope, ask the owning service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web

from services.gateway.body import Body, parse_body
from services.gateway.config import REQUEST_TIMEOUT_S
from services.gateway.idempotency import keyed_request_key
from services.gateway.images import image_fields
from services.gateway.keys import (
    body_key,
    correlation_key,
    read_cache_key,
    rpc_key,
    settings_key,
    systems_key,
)
from services.gateway.read_cache import Found, Reply
from services.gateway.systems import System
from services.gateway.validation import validate
from shared.errors import NotFound, ServiceUnavailable
from shared.messages.base import Command, Message, Query
from shared.messages.common import ImageUpload, Scope
from shared.messages.fields import Fields

M = TypeVar("M", bound=Fields)
Q = TypeVar("Q", bound=Query)

log = structlog.get_logger()

# What an award starts elsewhere (its Open Campus credential, its signed Open Badges 3.0
# credential) reaches the issuer through the badges service's outbox a moment after the award's
# 201 names it: a look-up made in that moment waits this long for it at most.
ARRIVAL_WAIT_S = 5.0


async def ask(request: web.Request, service: str, message: Message) -> Any:
    """Send a request to the service that owns it and return its answer. A message about one
    system (its `system_id`) travels in an envelope that names the system too. A command of a
    request under an `Idempotency-Key` goes with the id and hash that make its retries replay."""
    keyed = request.get(keyed_request_key) if isinstance(message, Command) else None
    answer = await request.app[rpc_key].request(
        service,
        message,
        correlation_id=request[correlation_key],
        timeout_s=REQUEST_TIMEOUT_S,
        system_id=getattr(message, "system_id", None),
        message_id=keyed.next_message_id() if keyed else None,
        request_hash=keyed.request_hash if keyed else None,
    )
    if keyed and answer.replayed:
        keyed.replayed = True
    return answer.unwrap()


async def ask_badges(request: web.Request, message: Message) -> Any:
    return await ask(request, "badges", message)


async def cached_read(
    request: web.Request,
    query: Q,
    render: Callable[[Q, Any], web.Response],
    system: Callable[[Q, Any], str],
) -> web.Response:
    """A hot read from the gateway's read cache (`read_cache.py`): the badges service's answer
    to `query` as `render` renders it, kept under both, as an answer about the system `system`
    names. `render` must depend on nothing but the query and the answer."""

    async def look_up() -> Found:
        answer = await ask_badges(request, query)
        return Found(system(query, answer), Reply.of(render(query, answer)))

    key = (render, query.TYPE, query.model_dump_json())
    return await request.app[read_cache_key].get(key, look_up)


async def path_system(request: web.Request) -> System:
    """The system the path names (`/systems/<slug>/...`), from the gateway's cache: routes
    answered by another service than badges need its immutable id."""
    slug = request.match_info["system"]
    found = await request.app[systems_key].get(slug)
    if found is None:
        # The badges service's own answer for a slug no system has.
        raise NotFound(f"Could not find system field: `slug`, value: `{slug}`")
    return found


def body(request: web.Request) -> Body:
    return parse_body(request.headers.get("Content-Type", ""), request.get(body_key, b""))


def fields_of(request: web.Request, model: type[M]) -> M:
    return validate(model, body(request).fields)


def fields_with_image(request: web.Request, model: type[M]) -> tuple[M, ImageUpload | None]:
    """The body validated as `model`, and the image it uploads, if any."""
    fields, upload = image_fields(body(request))
    return validate(model, fields), upload


def scope(request: web.Request) -> Scope:
    """The system, issuer and program the path names."""
    match = request.match_info
    return Scope(system=match["system"], issuer=match.get("issuer"), program=match.get("program"))


def location(request: web.Request, path: str) -> str:
    """An absolute URL under PUBLIC_URL."""
    return request.app[settings_key].base_url + path


def here(request: web.Request, *tail: str) -> str:
    """The absolute URL of this request's path (without its query), extended by `tail`."""
    path = "/".join([request.path.rstrip("/"), *tail])
    return location(request, path)


async def arriving(request: web.Request, service: str, query: Message, what: str) -> Any:
    """The answer of `service` to `query` about something an award named that is still on its
    way there (`what` names it): asked again, backing off, for up to ARRIVAL_WAIT_S, then 503."""
    log.info("awaiting_arrival", service=service, message=query.TYPE)
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + ARRIVAL_WAIT_S, 0.01
    while loop.time() + delay < deadline:
        await asyncio.sleep(delay)
        try:
            return await ask(request, service, query)
        except NotFound:
            delay = min(delay * 2, 0.25)
    raise ServiceUnavailable(f"{what} is on its way to the {service} service; retry shortly")
