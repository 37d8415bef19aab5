"""Applications as responses show them (BadgeKit's shape, dates in ISO 8601)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def application(row: Mapping[str, Any], badge: dict[str, Any]) -> dict[str, Any]:
    """`badge` is the application's badge as responses show it."""
    return {
        "id": row["id"],
        "slug": row["slug"],
        "learner": row["learner"],
        "created": iso(row["created"]),
        "assignedTo": row["assigned_to"],
        "assignedExpiration": iso(row["assigned_expiration"]),
        "badge": badge,
        "processed": iso(row["processed"]),
        "evidence": [
            {"url": item["url"], "mediaType": item["mediaType"], "reflection": item["reflection"]}
            for item in row["evidence"]
        ],
    }
