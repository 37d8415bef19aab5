"""Responses in BadgeKit's shapes: a status word and the object under its own name."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from shared.messages.fields import Page


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def created(name: str, value: Any, *, location: str | None = None) -> web.Response:
    headers = {"Location": location} if location else None
    return json_response({"status": "created", name: value}, status=201, headers=headers)


def updated(name: str, value: Any) -> web.Response:
    return json_response({"status": "updated", name: value})


def deleted(name: str, value: Any) -> web.Response:
    return json_response({"status": "deleted", name: value})


def listing(name: str, data: dict[str, Any], page: Page | None) -> web.Response:
    """`{<name>: [...]}`, with `pageData` when the caller asked for a page."""
    body: dict[str, Any] = {name: data["items"]}
    if page is not None:
        body["pageData"] = {"page": page.page, "count": page.count, "total": data["total"]}
    return json_response(body)
