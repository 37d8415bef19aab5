"""The route table: every route once, with what the OpenAPI document says of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SYSTEM = "/systems/{system}"
ISSUER = "/systems/{system}/issuers/{issuer}"
PROGRAM = "/systems/{system}/issuers/{issuer}/programs/{program}"
# BadgeKit's `{C}`: a route that exists at each of the three levels.
CONTEXTS = (SYSTEM, ISSUER, PROGRAM)


@dataclass(frozen=True)
class Raw:
    """A reply that is not JSON: its media type and the JSON schema of its content."""

    media_type: str
    schema: dict[str, Any]


# A reply: a model of `services.gateway.responses`, raw content, or None for no body at all.
Reply = type[BaseModel] | Raw | None


@dataclass(frozen=True)
class Answer:
    """A reply a route gives besides its success and the errors every route may give."""

    status: int
    reply: Reply
    description: str


@dataclass(frozen=True)
class Route:
    """A route and what the OpenAPI document says of it: its request body (the model that
    validates it), its success status and `reply`, and any `also` answers."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    status: int = 200
    paged: bool = False
    query: tuple[str, ...] = ()
    _: KW_ONLY
    reply: Reply
    also: tuple[Answer, ...] = ()
    # Answered by the gateway alone: no service is asked, so no 503 for a service down.
    local: bool = False
    # A request body the OpenAPI document shows as it is (not a model's JSON, form or multipart).
    request_body: dict[str, Any] | None = None
    # Also answers a page (`text/html`) to browsers and link-preview crawlers, and takes
    # `?format=json|html` (`pages/negotiation.py`).
    page: bool = False


def in_contexts(
    method: str,
    tail: str,
    handler: Handler,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    status: int = 200,
    *,
    reply: Reply,
    paged: bool = False,
    query: tuple[str, ...] = (),
) -> list[Route]:
    """The same route under a system, an issuer and a program (BadgeKit's `{C}`)."""
    return [
        Route(
            method, context + tail, handler, summary, tag, body, status, paged, query, reply=reply
        )
        for context in CONTEXTS
    ]
