"""Claim codes as responses show them, and their rules."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import asyncpg

from shared.errors import AppError, Conflict, NotFound

# A row as the repository reads it, or any mapping of its columns (tests).
Row = Mapping[str, Any] | asyncpg.Record

# BadgeKit's random codes: 10 characters of [0-9a-f].
RANDOM_CODE_BYTES = 5


class CodeAlreadyUsed(AppError):
    status = 400
    code = "CodeAlreadyUsed"


def random_code() -> str:
    """A new code from the operating system's CSPRNG."""
    return secrets.token_hex(RANDOM_CODE_BYTES)


def claim_code(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "claimed": row["claimed"],
        "email": row["email"],
        "multiuse": row["multiuse"],
    }


def already_used(code: str) -> CodeAlreadyUsed:
    return CodeAlreadyUsed(f"Claim code `{code}` has already been claimed")


def code_taken(submitted: dict[str, Any]) -> Conflict:
    """BadgeKit answered a duplicate code with a 500 carrying MySQL's text; its docs said 409."""
    return Conflict("claimCode with that `code` already exists", details=submitted)


def found_by_code(badge: dict[str, Any], claimed: bool, multiuse: bool) -> dict[str, Any]:
    """A badge found by one of its codes: `claimed` is 1 only for a used single-use code."""
    return {**badge, "claimed": int(claimed and not multiuse)}


def unknown_code(code: str) -> NotFound:
    """A code looked up among a system's, issuer's or program's badges (BadgeKit's words)."""
    return NotFound(f"Could not find the requested claim code {code}")
