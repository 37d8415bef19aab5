"""Models every service's messages share."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

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


def _from_base64(value: Any) -> Any:
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


# Raw bytes in Python, base64 in JSON (on the wire).
Base64Data = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(lambda data: base64.b64encode(data).decode(), when_used="json"),
]


# The request bodies that carry an image take it apart from their model (the gateway sorts out
# BadgeKit's `image` first), so the schema names the field here.
_IMAGE = {
    "type": "string",
    "format": "uri",
    "description": (
        "The image: a URL (as imageUrl), a data: URI (base64), or in a multipart body the file"
        " itself (PNG, SVG, JPEG or GIF, at most 1 MiB)"
    ),
}


def with_image(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a body that may carry an image."""
    schema.setdefault("properties", {})["image"] = dict(_IMAGE)


def with_required_image(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a body that must carry an image, as `image` or `imageUrl`."""
    with_image(schema)
    schema["anyOf"] = [{"required": ["imageUrl"]}, {"required": ["image"]}]


class ImageUpload(Fields):
    """An uploaded image, already checked by the gateway (size, and type by its bytes)."""

    content_type: str
    data: Base64Data
