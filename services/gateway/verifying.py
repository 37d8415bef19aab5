"""Verifying what anyone submits, for `POST /public/verify` and the verification page alike:
the gateway only bounds the request (a rate limit per client address, as `client_address`
finds it, and a body size) and hands it to the issuer, which does the work; the body goes as it
came, or, for a URL, the URL alone."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web

from services.gateway.body import Body, parse_body
from services.gateway.client_address import client_address
from services.gateway.config import VERIFY_MAX_BYTES, VERIFY_TIMEOUT_S
from services.gateway.keys import correlation_key, rpc_key, settings_key, verify_limiter_key
from shared.errors import InvalidContent, PayloadTooLarge, TooManyRequests
from shared.messages.verification import VerifyCredential

# A `{"url": ...}` body is small; larger JSON is a credential, sent on as it is.
_URL_BODY_MAX = 8 * 1024
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def verification_report(request: web.Request) -> dict[str, Any]:
    """The issuer's report (`VerificationReport`) of the request's submission."""
    address = client_address(request, request.app[settings_key].trusted_proxies)
    retry_after = request.app[verify_limiter_key].take(address)
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
    query = submission(request.headers.get("Content-Type", ""), raw)
    answer = await request.app[rpc_key].request(
        "issuer", query, correlation_id=request[correlation_key], timeout_s=VERIFY_TIMEOUT_S
    )
    report: dict[str, Any] = answer.unwrap()
    return report


def submission(content_type: str, raw: bytes) -> VerifyCredential:
    """What to ask the issuer to verify, from a request's body."""
    if not raw.strip():
        raise InvalidContent("Nothing to verify: the body is empty")
    if content_type.lower().startswith(_FORMS):
        return _form(parse_body(content_type, raw))
    if len(raw) <= _URL_BODY_MAX and raw.lstrip().startswith(b"{"):
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            fields = None
        if isinstance(fields, dict) and set(fields) == {"url"}:
            return _url(fields["url"])
    return _content(content_type, raw)


def _form(body: Body) -> VerifyCredential:
    """The verification page's form (or any form): a file (a baked image, a credential), else
    a pasted credential (JSON or a VC-JWT), else a URL; a browser sends every field, the empty
    ones included."""
    for upload in body.files.values():
        if upload.data.strip():
            return _content(upload.content_type, upload.data)
    pasted = body.fields.get("credential")
    if isinstance(pasted, str) and pasted.strip():
        return _content("", pasted.strip().encode())
    url = body.fields.get("url")
    if isinstance(url, str):
        url = url.strip()
    if url:
        return _url(url)
    if any(upload.filename for upload in body.files.values()):
        raise InvalidContent("Nothing to verify: the uploaded file is empty")
    raise InvalidContent("Nothing to verify: give a URL, a credential or an image")


def _url(value: Any) -> VerifyCredential:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise InvalidContent("Nothing to verify: url must be an http(s) URL")
    return VerifyCredential(url=value)


def _content(content_type: str, data: bytes) -> VerifyCredential:
    return VerifyCredential(
        content=base64.b64encode(data).decode("ascii"), content_type=content_type
    )
