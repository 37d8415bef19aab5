"""Request bodies as BadgeKit takes them: JSON, form-encoded or multipart, read once. A JSON
body sent as a form (`curl -d`) or without a type is read as the JSON it is.

The raw bytes are kept for the JWT body hash (multipart included, which BadgeKit could not sign);
fields come out as a dict, uploaded files apart. A body holding text that Postgres cannot store
(a NUL, in a value or a key, at any depth) is refused whole, naming each place: some bodies are
forwarded as they are (a credential's Open Campus body), unknown keys included.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from shared.errors import InvalidContent, UnsupportedMediaType, ValidationFailed
from shared.storable import NOT_STORABLE, holds_only_storable, unstorable


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


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
# Deeper nesting than any BadgeKit body has is kept as a flat key.
_MAX_DEPTH = 5


def _key_path(name: str) -> list[str]:
    """`criteria[0][note]` -> `["criteria", "0", "note"]`, as qs reads form keys."""
    head, bracket, _ = name.partition("[")
    if not bracket or not head:
        return [name]
    tail = name[len(head) :]
    parts = _BRACKETS.findall(tail)
    if "".join(f"[{part}]" for part in parts) != tail or len(parts) > _MAX_DEPTH:
        return [name]
    return [head, *parts]


def _listify(value: Any) -> Any:
    """Objects whose keys are all indexes become lists, in index order."""
    if not isinstance(value, dict):
        return value
    items = {key: _listify(item) for key, item in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields the way qs (BadgeKit's body parser) reads them: repeated names and `name[]`
    become lists, `a[b]=1` an object, `a[0][b]=1` a list of objects."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        path = _key_path(name)
        target: Any = fields
        for part in path[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {} if existing is None else {"0": existing}
            target = existing
        last = path[-1]
        if last == "":
            last = str(len(target))
        if last in target:
            previous = target[last]
            target[last] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            target[last] = value
    return {key: _listify(value) for key, value in fields.items()}


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


def _json_body(raw: bytes, value: Any) -> Body:
    if not isinstance(value, dict):
        raise InvalidContent("The request body must be a JSON object")
    return Body(raw, value)


_NOT_JSON = object()
_JSON_START = re.compile(rb"\s*[\[{]")
# What `curl -d` and urllib send when not told (a form), and what a body without any
# Content-Type is taken as (RFC 9110, 8.3): a JSON body sent so is read as JSON.
_JSON_MISTYPED_AS = frozenset({"application/x-www-form-urlencoded", "application/octet-stream", ""})


def _as_json(raw: bytes) -> Any:
    """The value of a body that is JSON whatever its Content-Type says (it starts with `{` or
    `[` and parses), else `_NOT_JSON`. A real form cannot be: its encoder escapes `{` and `[`."""
    if not _JSON_START.match(raw):
        return _NOT_JSON
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _storable(body: Body) -> Body:
    if holds_only_storable(body.fields):  # the quick answer, for nearly every body
        return body
    problems = [
        {"field": ".".join(str(part) for part in at), "value": value, "message": NOT_STORABLE}
        for at, value in unstorable(body.fields)
    ]
    if problems:
        raise ValidationFailed(problems)
    return body


def parse_body(content_type: str, raw: bytes) -> Body:
    return _storable(_parsed(content_type, raw))


def _parsed(content_type: str, raw: bytes) -> Body:
    if not raw:
        return Body(raw)
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidContent("Invalid JSON in the request body") from None
        return _json_body(raw, fields)
    if media_type == "multipart/form-data":
        return _multipart(content_type, raw)
    sniffed = _as_json(raw)
    if sniffed is not _NOT_JSON:
        if media_type in _JSON_MISTYPED_AS:
            return _json_body(raw, sniffed)
        raise UnsupportedMediaType(
            f"The body looks like JSON but its Content-Type is {media_type}; send"
            " Content-Type: application/json"
        )
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise InvalidContent("The form body is not UTF-8") from None
        return Body(raw, _collect(parse_qsl(text, keep_blank_values=True)))
    raise UnsupportedMediaType(
        "Send the body as application/json, application/x-www-form-urlencoded"
        " or multipart/form-data"
    )
