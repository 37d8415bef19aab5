"""Request bodies as BadgeKit takes them: JSON, form-encoded or multipart, read once.

The raw bytes are kept for the JWT body hash (multipart included, which BadgeKit could not sign);
fields come out as a dict, uploaded files apart.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from shared.errors import InvalidContent, UnsupportedMediaType


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Body:
    raw: bytes
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Repeated names (and `name[]`) become lists, as qs does for BadgeKit."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        is_list = name.endswith("[]")
        name = name.removesuffix("[]")
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = [value] if is_list else value
    return fields


def _multipart(content_type: str, raw: bytes) -> Body:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise InvalidContent("Malformed multipart body")
    pairs: list[tuple[str, Any]] = []
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None or part.get_content_type() != "text/plain":
            files[name] = Upload(filename, part.get_content_type(), data)
        else:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, data.decode(charset, errors="replace")))
    return Body(raw, _collect(pairs), files)


def parse_body(content_type: str, raw: bytes) -> Body:
    if not raw:
        return Body(raw)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidContent("Invalid JSON in the request body") from None
        if not isinstance(fields, dict):
            raise InvalidContent("The request body must be a JSON object")
        return Body(raw, fields)
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise InvalidContent("The form body is not UTF-8") from None
        return Body(raw, _collect(parse_qsl(text, keep_blank_values=True)))
    if media_type == "multipart/form-data":
        return _multipart(content_type, raw)
    raise UnsupportedMediaType(
        "Send the body as application/json, application/x-www-form-urlencoded"
        " or multipart/form-data"
    )
