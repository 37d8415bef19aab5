"""The badges service's business outcomes, in BadgeKit's words."""

from __future__ import annotations

from typing import Any

from shared.errors import AppError, Conflict, NotFound


def not_found(model: str, field: str, value: str) -> NotFound:
    return NotFound(f"Could not find {model} field: `{field}`, value: `{value}`")


def slug_taken(model: str, submitted: dict[str, Any]) -> Conflict:
    return Conflict(f"{model} with that `slug` already exists", details=submitted)


class NoValidRow(AppError):
    """An import's file without a single valid row: a 400 whose details are its problems."""

    status = 400
    code = "ValidationError"
