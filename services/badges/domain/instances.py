"""Awards (BadgeKit's badge instances) as responses show them, and the rules of awarding."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from shared.errors import Conflict, ValidationFailed
from shared.public_urls import assertion_url, credential_url

# A row as the repository reads it, or any mapping of its columns (tests).
Row = Mapping[str, Any] | asyncpg.Record


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def instance(row: Row, base_url: str, badge: dict[str, Any] | None = None) -> dict[str, Any]:
    """BadgeKit's instance: `badge` is null in an award's answer, the badge when read."""
    shown = {
        "slug": row["slug"],
        "email": row["email"],
        "expires": _iso(row["expires"]),
        "issuedOn": _iso(row["issued_on"]),
        "claimCode": row["claim_code"],
        "assertionUrl": assertion_url(base_url, row["slug"]),
        "openBadgeCredentialUrl": credential_url(base_url, row["slug"]),
        "badge": badge,
    }
    credential = _credential(row)
    if credential is not None:
        shown["credential"] = credential
    return shown


def _credential(row: Row) -> dict[str, Any] | None:
    """`{id, status}` of the award's Open Campus credential (and `vcId` once issued); None when
    the award has none (the key is then left out, as BadgeKit's instances never had it). The
    holder and the recipient's name are never shown."""
    if row.get("credential_id") is None:
        return None
    credential = {"id": row["credential_id"], "status": row["credential_status"]}
    if row.get("credential_vc_id") is not None:
        credential["vcId"] = row["credential_vc_id"]
    return credential


def unix_seconds(moment: datetime) -> int:
    """BadgeKit's webhooks send `issuedOn` as unix seconds."""
    return int(moment.timestamp())


def check_dates(issued_on: datetime | None, expires: datetime | None, now: datetime) -> None:
    """An award cannot be born expired (BadgeKit stored any `expires`)."""
    if expires is None:
        return
    message = None
    if expires <= now:
        message = "Expiry date is in the past"
    elif issued_on is not None and expires <= issued_on:
        message = "Expiry date must come after issuedOn"
    if message is not None:
        raise ValidationFailed(
            [{"field": "expires", "value": expires.isoformat(), "message": message}]
        )


def already_awarded(email: str, badge_slug: str, held_url: str | None) -> Conflict:
    details = {"assertionUrl": held_url} if held_url is not None else None
    return Conflict(f"User {email} has already been awarded badge {badge_slug}", details=details)


def limit_reached(badge_slug: str, limit: int) -> Conflict:
    return Conflict(f"Badge {badge_slug} has reached its limit of {limit} active awards")
