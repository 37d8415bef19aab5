"""Request validation: pydantic models in, BadgeKit's `ValidationError` details out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from shared.errors import InvalidParameter, ValidationFailed
from shared.messages.fields import MAX_COUNT, MAX_PAGE, Fields, Page

M = TypeVar("M", bound=Fields)

_MESSAGES = {
    "missing": "Required field",
    "string_type": "Invalid value: expected a string",
    "int_type": "Invalid value: expected an integer",
    "int_parsing": "Invalid value: expected an integer",
    "bool_type": "Invalid value: expected a boolean",
    "bool_parsing": "Invalid value: expected a boolean",
    "list_type": "Invalid value: expected a list",
    # An integer beyond 64 bits, as JSON numbers that large arrive (floats).
    "int_parsing_size": "Invalid value: the integer is out of range",
    # Bounds (a column's, or the field's own): the message says the bound.
    "greater_than_equal": "Value must be at least {ge}",
    "less_than_equal": "Value must be at most {le}",
}


def _detail(error: Any, fields: dict[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in error["loc"]]
    field = ".".join(location)
    template = _MESSAGES.get(error["type"])
    value = error["input"] if error["type"] != "missing" else None
    if not isinstance(value, str | int | float | bool) or value is None:
        value = fields.get(location[0]) if len(location) > 1 else None
    return {
        "field": field,
        "value": value if isinstance(value, str | int | float | bool) else "",
        "message": template.format(**error.get("ctx", {})) if template else error["msg"],
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
    return page_of(request.query)


def page_of(query: Mapping[str, str]) -> Page | None:
    """BadgeKit's `?page=&count=`: both positive integers, or no paging at all. The count is
    capped; a page beyond what Postgres can offset is refused."""
    try:
        page, count = int(query["page"]), int(query["count"])
    except (KeyError, ValueError):
        return None
    if page < 1 or count < 1:
        return None
    if page > MAX_PAGE:
        raise InvalidParameter("page", f"`page` must be an integer from 1 to {MAX_PAGE}")
    return Page(page=page, count=min(count, MAX_COUNT))
