"""`POST /public/verify`: anyone may ask whether a credential holds. The gateway only bounds the
request (a rate limit per client address, a body size) and hands it to the issuer, which does
the work; the body goes as it came, or, for `{"url": ...}`, the URL alone."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web

from services.gateway.body import parse_body
from services.gateway.config import VERIFY_MAX_BYTES, VERIFY_TIMEOUT_S
from services.gateway.keys import correlation_key, rpc_key, verify_limiter_key
from services.gateway.middleware import public
from services.gateway.render import json_response
from services.gateway.responses.verification import VerificationReport
from services.gateway.routes import Answer, Raw, Route
from shared.errors import InvalidContent, PayloadTooLarge, TooManyRequests
from shared.messages.verification import VerifyCredential

# A `{"url": ...}` body is small; larger JSON is a credential, sent on as it is.
_URL_BODY_MAX = 8 * 1024


@public
async def verify(request: web.Request) -> web.Response:
    retry_after = request.app[verify_limiter_key].take(request.remote or "unknown")
    if retry_after is not None:
        raise TooManyRequests(
            "Too many verifications from this address; slow down",
            headers={"Retry-After": str(retry_after)},
        )
    declared = request.content_length
    if declared is not None and declared > VERIFY_MAX_BYTES:
        raise PayloadTooLarge(f"A submission is at most {VERIFY_MAX_BYTES >> 20} MiB")
    raw = await request.read()
    if len(raw) > VERIFY_MAX_BYTES:
        raise PayloadTooLarge(f"A submission is at most {VERIFY_MAX_BYTES >> 20} MiB")
    query = _query(request.headers.get("Content-Type", ""), raw)
    answer = await request.app[rpc_key].request(
        "issuer", query, correlation_id=request[correlation_key], timeout_s=VERIFY_TIMEOUT_S
    )
    return json_response(answer.unwrap())


def _query(content_type: str, raw: bytes) -> VerifyCredential:
    if not raw.strip():
        raise InvalidContent("Nothing to verify: the body is empty")
    if content_type.lower().startswith("multipart/form-data"):
        # The verification page's form: a file (a baked image, a credential) or a URL.
        body = parse_body(content_type, raw)
        if body.files:
            upload = next(iter(body.files.values()))
            return _content(upload.content_type, upload.data)
        return _url(body.fields.get("url"))
    if len(raw) <= _URL_BODY_MAX and raw.lstrip().startswith(b"{"):
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            fields = None
        if isinstance(fields, dict) and set(fields) == {"url"}:
            return _url(fields["url"])
    return _content(content_type, raw)


def _url(value: Any) -> VerifyCredential:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise InvalidContent("Nothing to verify: url must be an http(s) URL")
    return VerifyCredential(url=value)


def _content(content_type: str, data: bytes) -> VerifyCredential:
    return VerifyCredential(
        content=base64.b64encode(data).decode("ascii"), content_type=content_type
    )


TAG = "public"
_ERROR = Raw("application/json", {"$ref": "#/components/schemas/Error"})
_SUBMISSION = {
    "required": True,
    "description": (
        "A credential as JSON-LD, a VC-JWT (`application/vc+jwt` or `text/plain`), a baked PNG"
        ' or SVG (`image/png`, `image/svg+xml`), or `{"url": ...}` of a credential or an'
        " Open Badges 2.0 hosted assertion; at most 2 MiB"
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "An OpenBadgeCredential, or {url}",
                "properties": {"url": {"type": "string", "format": "uri"}},
            }
        },
        "text/plain": {"schema": {"type": "string", "description": "A VC-JWT"}},
    },
}
ROUTES = [
    Route(
        "POST",
        "/public/verify",
        verify,
        "Verify a credential (OB 3.0 JSON-LD or VC-JWT, baked image, or a URL, OB 2.0 included)",
        TAG,
        reply=VerificationReport,
        request_body=_SUBMISSION,
        also=(
            Answer(400, _ERROR, "`InvalidContent`: the submission is no credential of any kind"),
            Answer(413, _ERROR, "`RequestEntityTooLarge`: the body is over 2 MiB"),
            Answer(429, _ERROR, "`TooManyRequests`: this address's rate limit"),
        ),
    ),
]
