"""Verifying a credential anyone submits: the CPU work (canonicalisation, signatures, schema)
runs here, in the issuer, never in the gateway. It waits on other hosts at times, so it holds no
database connection while it runs: the issuer's own documents are read on one borrowed for each
read (`borrows_connections`)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import structlog

from services.issuer.config import VERIFY_BUDGET_S
from services.issuer.deps import Ctx, Deps
from services.issuer.ob3.verification import NotACredential, Verifier
from services.issuer.resolver import IssuerResolver, LocalDocuments
from shared.context import Handler, borrows_connections
from shared.errors import InvalidContent, ServiceUnavailable
from shared.messages.base import Message
from shared.messages.verification import VerifyCredential

log = structlog.get_logger()


@borrows_connections
async def verify_credential(query: VerifyCredential, ctx: Ctx) -> dict[str, Any]:
    settings = ctx.deps.settings
    resolver = IssuerResolver(settings.base_url, LocalDocuments(ctx), ctx.deps.fetcher)
    # Loopback did:web hosts are read over HTTP only where private targets may be reached.
    verifier = Verifier(resolver, http_loopback=bool(settings.webhook_allow_private))
    try:
        async with asyncio.timeout(VERIFY_BUDGET_S):
            if query.url is not None:
                report = await verifier.verify_url(query.url)
            else:
                report = await verifier.verify_body(_content(query), query.content_type)
    except NotACredential as error:
        raise InvalidContent(f"Nothing to verify: {error}") from None
    except TimeoutError:
        raise ServiceUnavailable("Verifying took too long; try again") from None
    log.info("credential.verified", kind=report.kind, verified=report.verified)
    return report.to_wire()


def _content(query: VerifyCredential) -> bytes:
    try:
        return base64.b64decode(query.content or "", validate=True)
    except binascii.Error:
        raise InvalidContent("Nothing to verify: the content is not base64") from None


HANDLERS: dict[type[Message], Handler[Deps]] = {VerifyCredential: verify_credential}
