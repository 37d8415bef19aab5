"""The gateway's middlewares: the request's frame (correlation id, access log, metrics, BadgeKit
error bodies), its authentication (JWT, key scope, rate limit), its parameters (what the
store can hold) and, for a write, the read cache it makes stale."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web

from services.gateway import metrics
from services.gateway.keys import (
    authenticator_key,
    body_check_key,
    body_key,
    correlation_key,
    principal_key,
    rate_limiter_key,
    read_cache_key,
)
from services.gateway.render import json_response
from shared.errors import (
    AppError,
    InternalError,
    InvalidParameter,
    MethodNotAllowed,
    NotAuthorized,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
)
from shared.storable import storable

log = structlog.get_logger()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_HEADER = "X-Request-Id"
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(handler: H) -> H:
    """Mark a route as answered without authentication."""
    handler.plaudit_public = True  # type: ignore[attr-defined]
    return handler


def keeps_cached_reads(handler: H) -> H:
    """Mark a write that changes none of the reads the read cache holds (an award: a badge and
    its list show nothing of their awards, and a new assertion was never cached)."""
    handler.plaudit_keeps_cached_reads = True  # type: ignore[attr-defined]
    return handler


def streams_body(handler: H) -> H:
    """Mark a route that reads its body as a stream (an import's file, of any size): it is
    authenticated before its body is read, and checks the body's hash itself once it has read
    it (`request[body_check_key]`), before anything the body asks for takes effect."""
    handler.plaudit_streams_body = True  # type: ignore[attr-defined]
    return handler


def master_only(handler: H) -> H:
    """Mark a route that an API consumer key may never call, even under its own system."""
    handler.plaudit_master_only = True  # type: ignore[attr-defined]
    return handler


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _as_app_error(error: web.HTTPException, request: web.Request) -> AppError:
    if isinstance(error, web.HTTPNotFound):
        return NotFound(f"{request.path} does not exist")
    if isinstance(error, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge("The request body is too large")
    generic = AppError(error.reason)
    generic.status, generic.code = error.status, error.reason.replace(" ", "")
    return generic


@web.middleware
async def frame_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    correlation_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
    request[correlation_key] = correlation_id
    started = time.perf_counter()
    route = _route_template(request)
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
        try:
            response = await handler(request)
        except web.HTTPException as error:
            response = error_response(_as_app_error(error, request))
        except AppError as error:
            response = error_response(error)
        except Exception:
            log.exception("http.failed", method=request.method, route=route)
            response = error_response(InternalError())
        elapsed = time.perf_counter() - started
        response.headers[REQUEST_ID_HEADER] = correlation_id
        metrics.observe(request.method, route, response.status, elapsed)
        log.info(
            "http.request",
            method=request.method,
            route=route,
            status=response.status,
            ms=round(elapsed * 1000, 2),
        )
    return response


def error_response(error: AppError) -> web.Response:
    return json_response(error.to_body(), status=error.status, headers=error.headers or None)


def _route_flag(request: web.Request, flag: str) -> Any:
    return getattr(request.match_info.handler, flag, False)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        # BadgeKit answers an unknown route before any authentication.
        raise request.match_info.http_exception
    if _route_flag(request, "plaudit_public"):
        return await handler(request)
    authenticator = request.app[authenticator_key]
    if _route_flag(request, "plaudit_streams_body"):
        principal, request[body_check_key] = await authenticator.authenticate_streaming(
            method=request.method,
            raw_path=request.raw_path,
            authorization=request.headers.get("Authorization"),
        )
    else:
        body = await request.read()
        request[body_key] = body
        principal = await authenticator.authenticate(
            method=request.method,
            raw_path=request.raw_path,
            authorization=request.headers.get("Authorization"),
            body=body,
        )
    if not principal.is_master:
        if request.match_info.get("system") != principal.system:
            raise NotAuthorized("This API key is not valid for this system")
        if _route_flag(request, "plaudit_master_only"):
            raise NotAuthorized("This route needs the master key")
    retry_after = request.app[rate_limiter_key].take(principal.key)
    if retry_after is not None:
        raise TooManyRequests(
            "Too many requests for this API key; slow down",
            headers={"Retry-After": str(retry_after)},
        )
    request[principal_key] = principal
    return await handler(request)


@web.middleware
async def parameters_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Path and query parameters Postgres could not store never reach a service: a path
    parameter holding a NUL names nothing (404, as any unknown resource), a query parameter
    holding one is refused (400, as BadgeKit refuses a bad query parameter)."""
    if not all(storable(value) for value in request.match_info.values()):
        raise NotFound(f"{request.rel_url.raw_path} does not exist")
    for name, value in request.query.items():
        if not (storable(name) and storable(value)):
            raise InvalidParameter(name, f"`{name}` cannot contain the NUL character (\\u0000)")
    return await handler(request)


@web.middleware
async def writes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A write under a system (every write route but `POST /systems` and `POST /public/verify`
    is) drops this gateway's cached reads of that system before its answer leaves, so the client
    reads what it wrote; whatever the answer, since even a timeout may have committed."""
    system = request.match_info.get("system")
    if (
        system is None
        or request.method in READS
        or _route_flag(request, "plaudit_keeps_cached_reads")
    ):
        return await handler(request)
    try:
        return await handler(request)
    finally:
        request.app[read_cache_key].forget_system(system)
