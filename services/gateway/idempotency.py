"""`Idempotency-Key` on POST: the first answer is stored for 24 hours and replayed; while the
first request runs, the same key answers 409; with another body, 422 (DESIGN.md, New resources).

The gateway keeps nothing: every command a keyed request sends carries a `message_id` derived
from the key (and its rank among the request's commands) and the hash of the HTTP request. The
owning service stores its answer under that id in the same transaction as the effect, so a retry
after any crash (of the gateway, the service or the broker) finds the effect's own record and is
answered from it, never run twice. Keys are scoped to the caller's API key, the method and the
path. A response that shows a secret once is stored without it (`shared.context.Sensitive`), so
a replay never shows it again. A request refused before it reached a service (its body invalid,
say) stored nothing: it had no effect, and its retry is answered as it was.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from aiohttp import web

from services.gateway.auth import clean_path
from services.gateway.keys import body_key, principal_key
from services.gateway.middleware import Handler
from shared.errors import AppError, InvalidParameter

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# The namespace of message ids derived from keys (uuid5): any fixed value, never to change, or
# retries across a deployment would run again.
_NAMESPACE = uuid.UUID("0c5a1d36-3f4e-4a57-9a3b-6b1f0f6c2d8e")


@dataclass
class KeyedRequest:
    """A request under an `Idempotency-Key`: the ids of its commands, and whether an answer it
    got was replayed."""

    scope: str
    request_hash: str
    commands: int = 0
    replayed: bool = False

    def next_message_id(self) -> uuid.UUID:
        """The id of this request's next command: the same on every retry of the request."""
        self.commands += 1
        return uuid.uuid5(_NAMESPACE, f"{self.scope}\n{self.commands}")


keyed_request_key = web.RequestKey("keyed_request", KeyedRequest)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get(HEADER)
    if (
        request.method != "POST"
        or key is None
        or principal_key not in request
        # A streamed body (an import's file) is not at hand to hash: the key is not applied.
        or getattr(request.match_info.handler, "plaudit_streams_body", False)
    ):
        return await handler(request)
    if not _KEY.match(key):
        raise InvalidParameter(HEADER, f"{HEADER} must be 1 to 255 visible ASCII characters")
    keyed = KeyedRequest(
        scope=f"{request[principal_key].key} POST {clean_path(request.raw_path)}\n{key}",
        request_hash=hashlib.sha256(request.get(body_key, b"")).hexdigest(),
    )
    request[keyed_request_key] = keyed
    try:
        response = await handler(request)
    except AppError as error:
        if keyed.replayed:
            error.headers[REPLAYED_HEADER] = "true"
        raise
    if keyed.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response
