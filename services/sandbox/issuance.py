"""`POST /issuer/vc` as Open Campus answers it, with the fault of the call applied.

In order: `latencyMs`; the `X-API-KEY` check (401, and no outcome drawn, so a stray call never
shifts a scripted sequence); the call's outcome. `error`, `rate_limit` and `reject` answer at
once. Every other outcome processes the request as the real API would (JSON, the rules of
`shared/opencampus.py`, the duplicate check, the record) and then delivers that answer: as it is
(`ok`), late (`slow`), replaced by a 500 (`ambiguous_500`) or not at all (`ambiguous_drop`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import structlog
from aiohttp import web

from services.sandbox.faults import UNPROCESSED, Outcome
from services.sandbox.keys import closing_key, faults_key, ledger_key
from services.sandbox.responses import error_response, json_response
from shared.opencampus import API_KEY_HEADER, DUPLICATE_SUBTYPE, InvalidIssueRequest
from shared.opencampus import validate_issue_request as validate

log = structlog.get_logger()


async def issue(request: web.Request) -> web.StreamResponse:
    ledger, faults = request.app[ledger_key], request.app[faults_key]
    ledger.count("calls")
    if faults.settings.latency_ms:
        await asyncio.sleep(faults.settings.latency_ms / 1000)
    api_key = request.headers.get(API_KEY_HEADER)
    if not ledger.accepts(api_key):
        ledger.count("unauthorized")
        log.info("sandbox.issue", outcome="unauthorized", status=401)
        return error_response(401, "UNAUTHORIZED", "Missing or invalid API key")
    assert api_key is not None
    outcome = faults.next()
    ledger.count(outcome.value)
    if outcome in UNPROCESSED:
        answer = _fault(outcome, faults.settings.retry_after_s)
        log.info("sandbox.issue", outcome=outcome.value, status=answer.status)
        return answer
    answer = await _process(request, api_key, outcome)
    # `processed` is what the request earned; `status` what the client is sent, if anything.
    status: int | None = {Outcome.AMBIGUOUS_500: 500, Outcome.AMBIGUOUS_DROP: None}.get(
        outcome, answer.status
    )
    log.info("sandbox.issue", outcome=outcome.value, processed=answer.status, status=status)
    if outcome is Outcome.SLOW:
        # Answered late, or at once when the process stops (a SIGTERM never waits for it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.app[closing_key].wait(), faults.settings.slow_s)
    elif outcome is Outcome.AMBIGUOUS_500:
        return error_response(500, "INTERNAL_SERVER_ERROR", "Internal server error (sandbox fault)")
    elif outcome is Outcome.AMBIGUOUS_DROP:
        transport = request.transport
        if transport is not None:
            transport.abort()
        # Nothing reaches the client; aiohttp drops this answer on the closed connection.
        raise web.HTTPInternalServerError
    return answer


async def _process(request: web.Request, api_key: str, outcome: Outcome) -> web.Response:
    ledger = request.app[ledger_key]
    try:
        body: Any = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        ledger.count("invalidJson")
        return error_response(400, "VALIDATION_ERROR", "The body must be JSON")
    try:
        valid = validate(body)
    except InvalidIssueRequest as invalid:
        ledger.count("validationFailed")
        return error_response(
            400, "VALIDATION_ERROR", "Invalid credential request", details=invalid.details
        )
    # No await from here to the answer: the duplicate check and the record are one step.
    credential = ledger.record(api_key, valid, body, outcome)
    if credential is None:
        return error_response(
            400,
            DUPLICATE_SUBTYPE,
            "An OCA/OCB with this issuerReferenceId was already issued by this issuer",
        )
    log.info("sandbox.recorded", vc_id=credential.vc_id, kind=credential.kind)
    return json_response({"vc": {"id": credential.vc_id}})


def _fault(outcome: Outcome, retry_after_s: int) -> web.Response:
    if outcome is Outcome.ERROR:
        return error_response(503, "SERVICE_UNAVAILABLE", "Service unavailable (sandbox fault)")
    if outcome is Outcome.RATE_LIMIT:
        return error_response(
            429,
            "TOO_MANY_REQUESTS",
            "Too many requests (sandbox fault)",
            headers={"Retry-After": str(retry_after_s)},
        )
    return error_response(400, "ISSUANCE_REJECTED", "Issuance refused (sandbox fault)")
