"""Composition root of the gateway: `create_app(settings)` and its one lifespan."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any, cast

import structlog
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web

from services.gateway.auth import Authenticator, Credentials, clean_path
from services.gateway.config import (
    CLIENT_MAX_SIZE,
    CONSUMER_CACHE_SIZE,
    CONSUMER_CACHE_TTL_S,
    READ_CACHE_BYTES,
    READ_CACHE_SIZE,
    READ_CACHE_TTL_S,
    REPORT_CACHE_SIZE,
    REPORT_STALE_S,
    REPORT_TTL_S,
    REQUEST_TIMEOUT_S,
    SERVICE,
    SYSTEM_CACHE_SIZE,
    SYSTEM_CACHE_TTL_S,
    SYSTEM_CACHE_UNKNOWN_TTL_S,
    VERIFY_RATE_BURST,
    VERIFY_RATE_PER_S,
)
from services.gateway.consumers import ConsumerCache
from services.gateway.idempotency import idempotency_middleware
from services.gateway.keys import (
    authenticator_key,
    bus_key,
    consumers_key,
    pages_key,
    rate_limiter_key,
    read_cache_key,
    reports_key,
    rpc_key,
    settings_key,
    systems_key,
    verify_limiter_key,
)
from services.gateway.middleware import (
    auth_middleware,
    frame_middleware,
    parameters_middleware,
    writes_middleware,
)
from services.gateway.pages.rendering import Pages
from services.gateway.pages.reports import Reports
from services.gateway.ratelimit import RateLimiter
from services.gateway.read_cache import ReadCache
from services.gateway.route_table import setup_routes
from services.gateway.systems import System, SystemCache
from shared import topology
from shared.bus import Bus
from shared.config import Settings
from shared.crypto import SecretBox
from shared.entrypoint import wait_until_reachable
from shared.envelope import Envelope
from shared.errors import NotFound
from shared.logging import new_correlation_id
from shared.messages.systems import GetConsumerCredentials, ResolveSystem
from shared.rpc_client import RpcClient

log = structlog.get_logger()


class _Matched:
    """What route matching reads of a request: its method and URL."""

    __slots__ = ("method", "rel_url")

    def __init__(self, method: str, rel_url: Any) -> None:
        self.method = method
        self.rel_url = rel_url


class CleanPathRouter(web.UrlDispatcher):
    """Routes `/systems/` and `/systems//x` as BadgeKit's `sanitizePath` does: duplicate and
    trailing slashes are dropped before matching (no redirect, which would break signed POSTs)."""

    async def resolve(self, request: web.Request) -> web.UrlMappingMatchInfo:
        path = request.rel_url.path
        if "//" not in path and (len(path) == 1 or path[-1] != "/"):
            return await super().resolve(request)
        cleaned = clean_path(path)
        if cleaned != path:
            matched = _Matched(request.method, request.rel_url.with_path(cleaned))
            return await super().resolve(cast(web.Request, matched))
        return await super().resolve(request)


def create_app(settings: Settings) -> web.Application:
    with warnings.catch_warnings():
        # aiohttp deprecates a custom router, yet offers no other hook to match cleaned paths.
        warnings.simplefilter("ignore", DeprecationWarning)
        app = web.Application(
            router=CleanPathRouter(),
            middlewares=[
                frame_middleware,
                auth_middleware,
                writes_middleware,
                parameters_middleware,
                idempotency_middleware,
            ],
            client_max_size=CLIENT_MAX_SIZE,
        )
    app[settings_key] = settings
    app[rate_limiter_key] = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    app[verify_limiter_key] = RateLimiter(VERIFY_RATE_PER_S, VERIFY_RATE_BURST)
    app[read_cache_key] = ReadCache(
        ttl_s=READ_CACHE_TTL_S, max_entries=READ_CACHE_SIZE, max_bytes=READ_CACHE_BYTES
    )
    # The templates compile here, once: a page costs only its rendering.
    app[pages_key] = Pages(settings.base_url)
    app[reports_key] = Reports(
        ttl_s=REPORT_TTL_S, stale_s=REPORT_STALE_S, max_entries=REPORT_CACHE_SIZE
    )
    app.cleanup_ctx.append(_broker)
    setup_routes(app)
    return app


async def _broker(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    url = settings.amqp_url
    bus = await wait_until_reachable("RabbitMQ", url, lambda: Bus.connect(url, client_name=SERVICE))
    rpc = RpcClient(bus, name=SERVICE)
    await rpc.start()
    box = SecretBox(settings.encryption_keys)

    async def fetch(api_key: str) -> Credentials | None:
        found = await rpc.call(
            "badges",
            GetConsumerCredentials(api_key=api_key),
            correlation_id=new_correlation_id(),
            timeout_s=REQUEST_TIMEOUT_S,
        )
        if found is None:
            return None
        return Credentials(box.decrypt(found["secretCiphertext"]), found["system"])

    consumers = ConsumerCache(fetch, ttl_s=CONSUMER_CACHE_TTL_S, max_size=CONSUMER_CACHE_SIZE)

    async def resolve(slug: str) -> System | None:
        try:
            found = await rpc.call(
                "badges",
                ResolveSystem(slug=slug),
                correlation_id=new_correlation_id(),
                timeout_s=REQUEST_TIMEOUT_S,
            )
        except NotFound:
            return None
        return System(id=int(found["id"]), slug=str(found["slug"]))

    systems = SystemCache(
        resolve,
        ttl_s=SYSTEM_CACHE_TTL_S,
        unknown_ttl_s=SYSTEM_CACHE_UNKNOWN_TTL_S,
        max_size=SYSTEM_CACHE_SIZE,
    )

    reads = app[read_cache_key]

    async def on_broadcast(message: AbstractIncomingMessage) -> None:
        envelope = Envelope.from_bytes(message.body)
        if envelope.type == "consumer.deleted":
            consumers.forget(envelope.data["apiKey"])
        elif envelope.type == "system.deleted":
            consumers.forget_system(envelope.data["system"])
            systems.forget(envelope.data["system"])
        if envelope.type in topology.CHANGES_READS:
            reads.forget_system(envelope.data["system"])

    broadcasts = await bus.consume_private(
        f"{SERVICE}.broadcasts.{uuid.uuid4().hex[:12]}",
        on_broadcast,
        bindings=topology.GATEWAY_BROADCASTS,
    )
    app[bus_key] = bus
    app[rpc_key] = rpc
    app[consumers_key] = consumers
    app[systems_key] = systems
    # While the connection was down this process's broadcast queue was gone, and a deletion or
    # a change published then never reaches it: the reconnected queue is bound again before
    # this runs.
    bus.connection.reconnect_callbacks.add(lambda _connection: consumers.clear())
    bus.connection.reconnect_callbacks.add(lambda _connection: systems.clear())
    bus.connection.reconnect_callbacks.add(lambda _connection: reads.clear())
    app[authenticator_key] = Authenticator(
        master_secret=settings.master_secret_value,
        lookup=consumers.get,
        max_ttl_s=settings.auth_max_token_ttl_s,
    )
    log.info("gateway.started", url=f"http://{settings.gateway_host}:{settings.gateway_port}")
    try:
        yield
    finally:
        await broadcasts.stop(timeout_s=1)
        await rpc.stop()
        await bus.close()
