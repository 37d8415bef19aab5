"""JSON answers, and errors in Open Campus's shape: `{"error": {"message", "subType", ...}}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def error_response(
    status: int,
    sub_type: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "subType": sub_type}
    if details is not None:
        error["details"] = details
    return json_response({"error": error}, status=status, headers=headers)
