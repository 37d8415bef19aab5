"""Health, readiness and metrics: public, never authenticated."""

from __future__ import annotations

import asyncio

import aio_pika
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway import metrics
from services.gateway.config import APP_NAME, PROBE_TIMEOUT_S, VERSION
from services.gateway.keys import bus_key, correlation_key, rpc_key
from services.gateway.middleware import public
from services.gateway.render import json_response
from services.gateway.responses.public import Liveness, Pong, Readiness
from services.gateway.routes import Answer, Raw, Route
from shared import topology
from shared.errors import AppError
from shared.messages.common import Ping


@public
async def root(request: web.Request) -> web.Response:
    return json_response({"app": APP_NAME, "version": VERSION})


@public
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@public
async def readyz(request: web.Request) -> web.Response:
    """Ready when the broker and this gateway's reply path work. Each service is reported too,
    but one service down makes only its own routes answer 503, not the whole gateway unready;
    and how many of its processes (replicas) consume its requests."""
    rpc = request.app[rpc_key]

    async def answers(service: str) -> str:
        try:
            await rpc.call(
                service, Ping(), correlation_id=request[correlation_key], timeout_s=PROBE_TIMEOUT_S
            )
        except AppError:
            return "unavailable"
        return "ok"

    async def replicas(service: str) -> int:
        try:
            return await asyncio.wait_for(
                bus.consumers(topology.request_queue(service)), PROBE_TIMEOUT_S
            )
        except (TimeoutError, OSError, RuntimeError, aio_pika.exceptions.AMQPError):
            return 0  # the broker is away (RuntimeError: aio-pika's "not ready" channel)

    bus = request.app[bus_key]
    reply_path, services, counts = await asyncio.gather(
        rpc.probe(PROBE_TIMEOUT_S),
        asyncio.gather(*(answers(service) for service in topology.SERVICES)),
        asyncio.gather(*(replicas(service) for service in topology.SERVICES)),
    )
    ready = bus.is_connected and reply_path
    return json_response(
        {
            "status": "ready" if ready else "unavailable",
            "broker": "ok" if ready else "unavailable",
            "services": dict(zip(topology.SERVICES, services, strict=True)),
            "replicas": dict(zip(topology.SERVICES, counts, strict=True)),
        },
        status=200 if ready else 503,
    )


@public
async def prometheus(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


NOT_READY = Answer(503, Readiness, "Not ready: the broker or this gateway's reply path is down")
ROUTES = [
    Route(
        "GET",
        "/",
        root,
        "BadgeKit's ping: the app's name and version",
        "health",
        reply=Pong,
        local=True,
    ),
    Route("GET", "/healthcheck", root, "The same as /", "health", reply=Pong, local=True),
    Route("GET", "/healthz", healthz, "Liveness", "health", reply=Liveness, local=True),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Readiness: the broker, the reply path, each service",
        "health",
        reply=Readiness,
        also=(NOT_READY,),
        local=True,
    ),
    Route(
        "GET",
        "/metrics",
        prometheus,
        "Prometheus metrics",
        "health",
        reply=Raw("text/plain", {"type": "string"}),
        local=True,
    ),
]
