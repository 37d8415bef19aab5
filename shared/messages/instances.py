"""Awards (BadgeKit's badge instances), served by the badges service, and their events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Event, Query
from shared.messages.common import Scope
from shared.messages.fields import (
    Email,
    Fields,
    Name,
    OptionalLongText,
    OptionalText,
    OptionalUrl,
    Page,
    Slug,
    Strip,
)
from shared.opencampus import Address, Ocid

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Above this a number is milliseconds (as BadgeKit's 13-digit `expires` and the old client's
# `exp` claim), below it seconds: 10^12 seconds is past the year 33,000.
MILLISECONDS_FROM = 10**12
MAX_BULK_EMAILS = 1000


def _invalid_date() -> PydanticCustomError:
    return PydanticCustomError(
        "date", "Invalid date: use unix seconds, milliseconds or ISO 8601 (2024-05-01T12:00:00Z)"
    )


def parse_timestamp(value: Any) -> datetime | None:
    """A date as BadgeKit clients send it: unix seconds, 13-digit milliseconds (numbers or
    their strings), or ISO 8601 (without a zone, UTC). Blank is no date. Always aware, in UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        raise _invalid_date()
    elif isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        number = float(value)
        seconds = number / 1000 if abs(number) >= MILLISECONDS_FROM else number
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise _invalid_date() from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _invalid_date() from None
    else:
        raise _invalid_date()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


Timestamp = Annotated[
    datetime | None,
    BeforeValidator(parse_timestamp),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "description": "Unix seconds (milliseconds from 10^12)"},
                {"type": "null"},
            ]
        }
    ),
]


def _emails(value: Any) -> Any:
    """BadgeKit's `emails` must be a list (it answered anything else with a 500)."""
    if not isinstance(value, list):
        raise PydanticCustomError("list_type", "Invalid value: expected a list of emails")
    if not value:
        raise PydanticCustomError("emails", "At least one email is required")
    if len(value) > MAX_BULK_EMAILS:
        raise PydanticCustomError(
            "emails", "At most {limit} emails at once", {"limit": MAX_BULK_EMAILS}
        )
    return value


def _blank_is_none(value: Any) -> Any:
    """Form bodies send an empty string for a field left empty: treat it as absent."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


Optional = BeforeValidator(_blank_is_none)
HolderOcId = Annotated[Ocid | None, Optional, BeforeValidator(_stripped)]
HolderAddress = Annotated[Address | None, Optional, BeforeValidator(_stripped)]
RecipientName = Annotated[Name | None, Optional]


class AwardFields(Fields):
    """An award. For a badge with a `credential`, `holderOcId` (OCA or OCB) or `holderAddress`
    (OCB only) also issues that credential to the holder; an OCA also needs the recipient's
    `name`. Those rules depend on the badge: the badges service checks them."""

    email: Email
    claim_code: Annotated[OptionalText, Strip] = None
    slug: Slug | None = None
    issued_on: Timestamp = None
    expires: Timestamp = None
    comment: OptionalLongText = None
    evidence: OptionalUrl = None
    holder_oc_id: HolderOcId = None
    holder_address: HolderAddress = None
    name: RecipientName = None

    @field_validator("holder_address")
    @classmethod
    def _one_holder(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("holder_oc_id") is not None:
            raise PydanticCustomError(
                "one_holder", "Send at most one of holderOcId or holderAddress"
            )
        return value


class BulkAwardFields(Fields):
    """`claimCode` is not read (BadgeKit strips it): one code cannot serve a list."""

    emails: Annotated[
        list[Email],
        BeforeValidator(_emails),
        Field(json_schema_extra={"minItems": 1, "maxItems": MAX_BULK_EMAILS}),
    ]
    issued_on: Timestamp = None
    expires: Timestamp = None
    comment: OptionalLongText = None


class AwardBadge(Command):
    TYPE = "badges.award_badge"
    scope: Scope
    badge: str
    award: AwardFields


class AwardBadgeInBulk(Command):
    TYPE = "badges.award_badge_in_bulk"
    scope: Scope
    badge: str
    award: BulkAwardFields


class ListInstances(Query):
    """The active awards of a badge."""

    TYPE = "badges.list_instances"
    scope: Scope
    badge: str
    page: Page | None = None


class GetInstance(Query):
    """The newest active award of a badge to an email."""

    TYPE = "badges.get_instance"
    scope: Scope
    badge: str
    email: str


class RevokeBadge(Command):
    """Revoke the newest active award of a badge to an email (the row stays, marked revoked)."""

    TYPE = "badges.revoke_badge"
    scope: Scope
    badge: str
    email: str


class ListInstancesByEmail(Query):
    """Every active award to an email among the badges of a system, issuer or program."""

    TYPE = "badges.list_instances_by_email"
    scope: Scope
    email: str
    page: Page | None = None


class BadgeAwarded(Event):
    """BadgeKit's award webhook fields: `uid` is the award's slug, `issuedOn` unix seconds;
    `credential` (`{id, status: "pending"}`) when the award starts an Open Campus credential,
    whose `credential.*` events name the same id. The rest is what its Open Badges 3.0
    credential holds: its URL, the award's salt (the recipient's hash is sha256(email + salt),
    as in the public assertion), `expires` (unix seconds), `evidence` (a URL) and `narrative`
    (how the award was earned, Markdown: an import's row may give one, a single award never)."""

    TYPE = "badge.awarded"
    system: str
    uid: str
    badge: dict[str, Any]
    email: str
    assertion_url: str
    open_badge_credential_url: str
    issued_on: int
    comment: str | None = None
    credential: dict[str, Any] | None = None
    salt: str
    expires: int | None = None
    evidence: str | None = None
    narrative: str | None = None


class BadgeRevoked(Event):
    TYPE = "badge.revoked"
    system: str
    uid: str
    badge: dict[str, Any]
    email: str
