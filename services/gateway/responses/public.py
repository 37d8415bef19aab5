"""The public Open Badges 2.0 documents (`services.badges.domain.public`), and health."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from pydantic.config import JsonDict

from services.gateway.responses.envelopes import Shown, omitted

Context = Literal["https://w3id.org/openbadges/v2"]
_URI: JsonDict = {"format": "uri"}
_ASSERTION = "https://badges.example.org/public/assertions/9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d"
_BADGE_CLASS = "https://badges.example.org/public/systems/city-library/badges/reading-champion"
_PROFILE = "https://badges.example.org/public/systems/city-library"


class BadgeLocation(Shown):
    location: str = Field(json_schema_extra=_URI, examples=[_BADGE_CLASS])


class Recipient(Shown):
    """The recipient's email, salted and hashed: never in clear."""

    type: Literal["email"]
    hashed: Literal[True]
    salt: str = Field(examples=["4f1c2b9e0d8a7c6b5a4f3e2d1c0b9a8f"])
    identity: str = Field(
        pattern=r"^sha256\$[0-9a-f]{64}$",
        examples=["sha256$" + "c0ffee" * 10 + "c0ff"],
    )


class Verification(Shown):
    type: Literal["HostedBadge"]


class Assertion(Shown):
    """A hosted Open Badges 2.0 Assertion; a revoked one says so (served with 410 Gone)."""

    context: Context = Field(alias="@context")
    type: Literal["Assertion"]
    id: str = Field(json_schema_extra=_URI, examples=[_ASSERTION])
    recipient: Recipient
    badge: str = Field(json_schema_extra=_URI, examples=[_BADGE_CLASS])
    verification: Verification
    issued_on: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    expires: datetime | None = omitted("Only for an award that expires")
    evidence: str | None = omitted("Only for an award with evidence")
    narrative: str | None = omitted(
        "How the award was earned (Markdown), only for an award that has one (from an import)"
    )
    revoked: Literal[True] | None = omitted("Only once revoked")
    revocation_reason: str | None = omitted("Only once revoked, where a reason was given")


class RevokedAssertion(Assertion):
    """The Assertion of a revoked award (served with 410 Gone)."""

    revoked: Literal[True]


class AlignmentObject(Shown):
    target_name: str = Field(examples=["Digital literacy"])
    target_url: str = Field(examples=["https://standards.example.org/digital-literacy"])
    target_description: str | None = omitted("Only where the alignment has a description")


class Criteria(Shown):
    id: str = Field(examples=["https://library.example.org/reading"])


class BadgeClass(Shown):
    """A badge's Open Badges 2.0 BadgeClass."""

    context: Context = Field(alias="@context")
    type: Literal["BadgeClass"]
    id: str = Field(json_schema_extra=_URI, examples=[_BADGE_CLASS])
    name: str = Field(examples=["Reading Champion"])
    description: str = Field(examples=["The holder read twelve books in a year."])
    image: str | None = Field(examples=["https://badges.example.org/public/images/5f2b9c0e"])
    criteria: Criteria
    issuer: str = Field(json_schema_extra=_URI, examples=[_PROFILE])
    alignment: list[AlignmentObject]
    tags: list[str] = Field(examples=[["reading"]])


class IssuerProfile(Shown):
    """The Open Badges 2.0 Issuer profile of a system, issuer or program: each field from the
    nearest that has it (never an email)."""

    context: Context = Field(alias="@context")
    type: Literal["Issuer"]
    id: str = Field(json_schema_extra=_URI, examples=[_PROFILE])
    name: str = Field(examples=["City Library"])
    url: str = Field(examples=["https://library.example.org"])
    description: str | None = omitted("Where one of the organizations has one")
    image: str | None = omitted("Where one of the organizations has one")


class Pong(Shown):
    """BadgeKit's ping."""

    app: str = Field(examples=["BadgeKit API"])
    version: str = Field(examples=["0.1.0"])


class Liveness(Shown):
    status: Literal["ok"]


Health = Literal["ok", "unavailable"]


class Readiness(Shown):
    status: Literal["ready", "unavailable"] = Field(examples=["ready"])
    broker: Health = Field(examples=["ok"])
    services: dict[str, Health] = Field(
        examples=[{"badges": "ok", "issuer": "ok", "webhooks": "ok"}],
        description="Each service: one down makes only its own routes answer 503",
    )
    replicas: dict[str, int] = Field(
        examples=[{"badges": 2, "issuer": 1, "webhooks": 1}],
        description="Each service's processes consuming its requests now (0 when none is)",
    )
