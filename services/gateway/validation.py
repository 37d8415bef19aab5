"""Request validation: pydantic models in, BadgeKit's `ValidationError` details out."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from aiohttp import web

from shared.errors import InvalidParameter, ValidationFailed
from shared.messages.fields import Fields, Page

M = TypeVar("M", bound=Fields)

_MESSAGES = {
    "missing": "Required field",
    "string_type": "Invalid value: expected a string",
    "int_type": "Invalid value: expected an integer",
    "int_parsing": "Invalid value: expected an integer",
    "bool_type": "Invalid value: expected a boolean",
    "bool_parsing": "Invalid value: expected a boolean",
    "list_type": "Invalid value: expected a list",
}


def _detail(error: Any, fields: dict[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in error["loc"]]
    field = ".".join(location)
    value = error["input"] if error["type"] != "missing" else None
    if not isinstance(value, str | int | float | bool) or value is None:
        value = fields.get(location[0]) if len(location) > 1 else None
    return {
        "field": field,
        "value": value if isinstance(value, str | int | float | bool) else "",
        "message": _MESSAGES.get(error["type"], error["msg"]),
    }


def validate(model: type[M], fields: dict[str, Any], also: list[dict[str, Any]] | None = None) -> M:
    """`fields` as `model`, or every problem at once (with `also`, found elsewhere)."""
    details = list(also or [])
    try:
        validated = model.model_validate(fields)
    except pydantic.ValidationError as error:
        details.extend(_detail(e, fields) for e in error.errors())
    if details:
        raise ValidationFailed(details)
    return validated


def choice(request: web.Request, parameter: str, values: dict[str, str], default: str) -> str:
    """A query parameter among BadgeKit's spellings (`values` maps each to its meaning)."""
    given = request.query.get(parameter)
    if given is None:
        return default
    if given.lower() not in values:
        spellings = ", ".join(repr(value) for value in values)
        raise InvalidParameter(parameter, f"`{parameter}` must be one of {spellings}")
    return values[given.lower()]


def pagination(request: web.Request) -> Page | None:
    """BadgeKit's `?page=&count=`: both positive integers, or no paging at all."""
    try:
        page, count = int(request.query["page"]), int(request.query["count"])
    except (KeyError, ValueError):
        return None
    if page < 1 or count < 1:
        return None
    return Page(page=page, count=min(count, 10_000))
