"""Verifying a credential anyone submits (`POST /public/verify`), answered by the issuer."""

from __future__ import annotations

from shared.messages.base import Query


class VerifyCredential(Query):
    """What was submitted: the body as it came (base64, with its `Content-Type`), or the URL
    of a `{"url": ...}` body. The reply is the verification report."""

    TYPE = "issuer.verify_credential"
    content: str | None = None
    content_type: str = ""
    url: str | None = None
