"""Claim codes of a badge (served by the badges service), and the event of one being claimed."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Event, Query
from shared.messages.common import Scope
from shared.messages.fields import Fields, Name, OptionalEmail, OptionalFlag, Page, text_schema


def _addressable(value: str) -> str:
    """A code is a path segment of `{B}/codes/:code`: it cannot hold a slash or spaces."""
    if any(c == "/" or c.isspace() for c in value):
        raise PydanticCustomError("code", "Invalid code: no slashes or spaces")
    return value


Code = Annotated[Name, AfterValidator(_addressable), text_schema(1, 255, pattern=r"^[^/\s]+$")]


class ClaimCodeOptions(Fields):
    """What a new code may set besides the code itself (all of `codes/random`'s body).
    `false`, `0` and their strings mean false (BadgeKit took any value as true, issue #116)."""

    claimed: OptionalFlag = None
    multiuse: OptionalFlag = None
    email: OptionalEmail = None


class ClaimCodeFields(ClaimCodeOptions):
    code: Code


class ClaimFields(Fields):
    email: OptionalEmail = None


class CreateClaimCode(Command):
    """Add a code to a badge; without `code`, the service draws a random one."""

    TYPE = "badges.create_claim_code"
    scope: Scope
    badge: str
    code: str | None = None
    options: ClaimCodeOptions = ClaimCodeOptions()


class ListClaimCodes(Query):
    TYPE = "badges.list_claim_codes"
    scope: Scope
    badge: str
    page: Page | None = None


class GetClaimCode(Query):
    TYPE = "badges.get_claim_code"
    scope: Scope
    badge: str
    code: str


class DeleteClaimCode(Command):
    TYPE = "badges.delete_claim_code"
    scope: Scope
    badge: str
    code: str


class ClaimCode(Command):
    """Mark a code claimed (by `email`, if given); it does not award the badge."""

    TYPE = "badges.claim_code"
    scope: Scope
    badge: str
    code: str
    email: str | None = None


class FindBadgeByCode(Query):
    """The badge a code belongs to, among the badges of a system, issuer or program."""

    TYPE = "badges.find_badge_by_code"
    scope: Scope
    code: str


class ClaimCodeClaimed(Event):
    """A code was claimed, through its `claim` route or used in an award."""

    TYPE = "claim_code.claimed"
    system: str
    badge: dict[str, Any]
    claim_code: dict[str, Any]
    email: str | None
