"""`Idempotency-Key` on POST: the first response is stored for 24 hours and replayed; while the
first request runs, the same key answers 409; with another body, 422 (DESIGN.md, New resources).

Keys are scoped to the caller's API key, the method and the path. A response that shows a secret
once (a new API key's `apiSecret`, a webhook's `secret`) is stored without it, so a replay never
shows it again. Failures worth retrying (5xx, 429) release the key instead of being stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import orjson
from aiohttp import web

from services.gateway.auth import clean_path
from services.gateway.handlers.common import ask_badges
from services.gateway.keys import body_key, principal_key
from services.gateway.middleware import Handler, error_response
from shared.errors import AppError, InvalidParameter
from shared.messages.idempotency import (
    BeginIdempotentRequest,
    FinishIdempotentRequest,
    ReleaseIdempotentRequest,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
SECRET_FIELDS = frozenset({"apiSecret", "secret"})
STORED_HEADERS = ("Location", "Content-Type")


class KeyInUse(AppError):
    status = 409
    code = "IdempotencyKeyInUse"


class KeyMismatch(AppError):
    status = 422
    code = "IdempotencyKeyMismatch"


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def _stored_body(body: bytes) -> bytes:
    try:
        return orjson.dumps(without_secrets(orjson.loads(body)))
    except orjson.JSONDecodeError:
        return body


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or principal_key not in request:
        return await handler(request)
    if not _KEY.match(key):
        raise InvalidParameter(HEADER, f"{HEADER} must be 1 to 255 visible ASCII characters")
    scope = f"{request[principal_key].key} POST {clean_path(request.raw_path)}"
    request_hash = hashlib.sha256(request.get(body_key, b"")).hexdigest()
    claim = await ask_badges(
        request, BeginIdempotentRequest(scope=scope, key=key, request_hash=request_hash)
    )
    if claim["state"] == "replay":
        headers = {**claim["headers"], REPLAYED_HEADER: "true"}
        return web.Response(
            status=claim["status"], body=base64.b64decode(claim["body"]), headers=headers
        )
    if claim["state"] == "in_flight":
        raise KeyInUse("A request with this Idempotency-Key is still in progress; retry shortly")
    if claim["state"] == "mismatch":
        raise KeyMismatch(f"This {HEADER} was used with another request body")
    try:
        response = await handler(request)
    except AppError as error:
        response = error_response(error)
    except BaseException:
        await ask_badges(request, ReleaseIdempotentRequest(scope=scope, key=key))
        raise
    if response.status >= 500 or response.status == 429 or not isinstance(response, web.Response):
        await ask_badges(request, ReleaseIdempotentRequest(scope=scope, key=key))
        return response
    stored = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
    await ask_badges(
        request,
        FinishIdempotentRequest(
            scope=scope,
            key=key,
            status=response.status,
            headers=stored,
            body=_stored_body(response.body if isinstance(response.body, bytes) else b""),
        ),
    )
    return response
