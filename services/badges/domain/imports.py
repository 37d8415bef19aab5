"""The rules of imports: a row's checks against its badge, what a row that names someone again
comes to, and the import as responses show it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.badges.domain import credentials
from services.badges.domain import instances as award_rules
from shared.errors import AppError, ValidationFailed
from shared.messages.imports import ImportRowFields
from shared.public_urls import assertion_url, credential_url

# An award field as the file's column names it (the others are the same).
_COLUMN_OF = {"evidence": "evidenceUrl"}


def column_of(field: str) -> str:
    return _COLUMN_OF.get(field, field)


def problems_of(row: int, error: ValidationFailed) -> list[dict[str, Any]]:
    """An award's validation details as an import's problems for this row."""
    return [
        {
            "row": row,
            "column": column_of(str(detail.get("field", ""))),
            "value": str(detail.get("value") or ""),
            "message": str(detail.get("message", "")),
        }
        for detail in error.details or []
    ]


def check_row(
    badge: Mapping[str, Any], row: int, fields: ImportRowFields, now: datetime
) -> list[dict[str, Any]]:
    """What the badge makes of a row whose fields are valid: its dates, its holder (a badge
    with a credential); the problems, none when it can be awarded."""
    problems: list[dict[str, Any]] = []
    try:
        award_rules.check_dates(fields.issued_on, fields.expires, now)
    except ValidationFailed as error:
        problems.extend(problems_of(row, error))
    try:
        credentials.holder_of(badge, fields)
    except ValidationFailed as error:
        problems.extend(problems_of(row, error))
    return problems


def problem_message(problems: list[dict[str, Any]]) -> str:
    """A row's problems in one line (the results' `error`)."""
    return "; ".join(f"{p['column']}: {p['message']}" for p in problems)


def repeated(duplicates: str, row: int | None, holds: bool) -> tuple[str, str] | None:
    """What a row that names someone again comes to under the import's `duplicates`: the
    outcome and why, or None when it is awarded (`allow`, or nobody named again). `row` is the
    earlier row with its email; `holds` whether the email holds the badge already."""
    if duplicates == "allow" or (row is None and not holds):
        return None
    why = f"Repeats the email of row {row}" if row is not None else "Already holds the badge"
    return ("skipped" if duplicates == "skip" else "failed"), why


def refused_outcome(duplicates: str, error: AppError | None) -> tuple[str, str]:
    """A row whose award the badge refused (an email holding the unique badge, a limit)."""
    if error is None:
        return ("skipped" if duplicates == "skip" else "failed"), "Already holds the badge"
    return "failed", error.message


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def rate(row: Mapping[str, Any], now: datetime) -> float | None:
    """Rows done a second from the start to the end (or now); the upload is not counted."""
    started = row["started_at"]
    if started is None:
        return None
    seconds = ((row["finished_at"] or now) - started).total_seconds()
    return round(row["done"] / seconds, 1) if seconds > 0 else None


def present(row: Mapping[str, Any], *, problems: bool = True) -> dict[str, Any]:
    """An import as responses show it (without its problems for `import.completed`)."""
    shown: dict[str, Any] = {
        "id": str(row["id"]),
        "badge": row["badge"],
        "state": row["state"],
        "dryRun": row["dry_run"],
        "duplicates": row["duplicates"],
        "notify": row["notify"],
        "rows": {
            "total": row["total"],
            "done": row["done"],
            "awarded": row["awarded"],
            "skipped": row["skipped"],
            "failed": row["failed"],
        },
        "createdAt": _iso(row["created_at"]),
        "startedAt": _iso(row["started_at"]),
        "finishedAt": _iso(row["finished_at"]),
        "ratePerS": rate(row, datetime.now(UTC)),
    }
    if problems:
        shown["problems"] = row["problems"]
    return shown


def result(row: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A row of the results file."""
    slug = row["slug"]
    error = row["error"]
    if error is None and row["problems"]:
        error = problem_message(row["problems"])
    return {
        "row": row["row_number"],
        "email": row["email"],
        "outcome": row["outcome"] or "",
        "slug": slug or "",
        "assertionUrl": assertion_url(base_url, slug) if slug else "",
        "openBadgeCredentialUrl": credential_url(base_url, slug) if slug else "",
        "error": error or "",
    }
