"""Models every service's messages share."""

from __future__ import annotations

from pydantic import Base64Bytes

from shared.messages.base import Query
from shared.messages.fields import Fields


class Ping(Query):
    """Answered by every service's request handler; the gateway's readiness probe."""

    TYPE = "ping"


class Scope(Fields):
    """Where a request points: a system, optionally one of its issuers, optionally one of that
    issuer's programs (BadgeKit's `/systems/:s[/issuers/:i[/programs/:p]]`)."""

    system: str
    issuer: str | None = None
    program: str | None = None


class ImageUpload(Fields):
    """An uploaded image, already checked by the gateway (size, and type by its bytes)."""

    content_type: str
    data: Base64Bytes
