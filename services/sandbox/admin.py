"""The admin API under `/_sandbox/`: faults, recorded credentials, counters, keys, reset.

    GET    /_sandbox/health
    PUT    /_sandbox/faults       {"sequence": [outcome, ...], "rates": {outcome: p},
                                   "latencyMs": 0, "slowS": 30, "retryAfterS": 1, "seed": 0}
    GET    /_sandbox/faults       the settings in force and what is left of the sequence
    DELETE /_sandbox/faults       no faults: every call `ok`
    GET    /_sandbox/credentials  [?issuerReferenceId=]  every credential recorded, oldest first
    GET    /_sandbox/stats        calls per outcome, refusals (key, JSON, rules, duplicates)
    POST   /_sandbox/keys         {"apiKey"}: accept one more API key
    DELETE /_sandbox/state        forget credentials and counters (keys and faults stay)

No authentication: loopback tooling for development and tests, never to be exposed.
"""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from services.sandbox.faults import FaultSettings
from services.sandbox.keys import faults_key, ledger_key
from services.sandbox.responses import error_response, json_response

log = structlog.get_logger()


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[faults_key].to_json())


async def put_faults(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        settings = FaultSettings.model_validate(body)
    except pydantic.ValidationError as error:
        raise InvalidAdminRequest(
            [
                {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
                for item in error.errors()
            ]
        ) from None
    faults = request.app[faults_key]
    faults.set(settings)
    log.info(
        "sandbox.faults_set",
        sequence=len(settings.sequence),
        rates=settings.to_json()["rates"],
        latency_ms=settings.latency_ms,
    )
    return json_response(faults.to_json())


async def delete_faults(request: web.Request) -> web.Response:
    faults = request.app[faults_key]
    faults.clear()
    log.info("sandbox.faults_cleared")
    return json_response(faults.to_json())


async def credentials(request: web.Request) -> web.Response:
    """Every recorded credential, oldest first; `?issuerReferenceId=` narrows to one id."""
    wanted = request.query.get("issuerReferenceId")
    found = [
        credential.to_json()
        for credential in request.app[ledger_key].credentials
        if wanted is None or credential.issuer_reference_id == wanted
    ]
    return json_response({"credentials": found})


async def stats(request: web.Request) -> web.Response:
    return json_response(request.app[ledger_key].stats())


async def add_key(request: web.Request) -> web.Response:
    body = await _json_body(request)
    api_key = body.get("apiKey") if isinstance(body, dict) else None
    if not isinstance(api_key, str) or not api_key.strip():
        raise InvalidAdminRequest([{"field": "apiKey", "message": "Required field"}])
    request.app[ledger_key].keys.add(api_key)
    log.info("sandbox.key_added")
    return json_response({"status": "created", "apiKeyLast4": api_key[-4:]}, status=201)


async def reset(request: web.Request) -> web.Response:
    """Forget credentials and counters; keys and faults stay."""
    request.app[ledger_key].reset()
    log.info("sandbox.reset")
    return json_response({"status": "reset"})


async def _json_body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise InvalidAdminRequest([{"field": "", "message": "The body must be JSON"}]) from None


class InvalidAdminRequest(Exception):
    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("invalid admin request")
        self.details = details


@web.middleware
async def admin_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InvalidAdminRequest as invalid:
        return error_response(400, "VALIDATION_ERROR", "Invalid request", details=invalid.details)


def setup_admin_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/health", health)
    app.router.add_get(f"{prefix}/faults", get_faults)
    app.router.add_put(f"{prefix}/faults", put_faults)
    app.router.add_delete(f"{prefix}/faults", delete_faults)
    app.router.add_get(f"{prefix}/credentials", credentials)
    app.router.add_get(f"{prefix}/stats", stats)
    app.router.add_post(f"{prefix}/keys", add_key)
    app.router.add_delete(f"{prefix}/state", reset)
