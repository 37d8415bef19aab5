"""Badges (`services.badges.domain.badges`) and their claim codes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.gateway.responses.envelopes import PageData, Shown, omitted
from services.gateway.responses.organizations import Organization
from shared.opencampus import ACHIEVEMENT_TYPES

# 0 or 1, as BadgeKit (MySQL booleans) showed `unique`, a criterion's `required` and the like.
Bit = Literal[0, 1]


class Criterion(Shown):
    id: int = Field(examples=[7])
    description: str = Field(examples=["Attend every session"])
    required: Bit = Field(examples=[1])
    note: str = Field(examples=[""])


class Alignment(Shown):
    id: int = Field(examples=[3])
    name: str = Field(examples=["Digital literacy"])
    url: str = Field(examples=["https://standards.example.org/digital-literacy"])
    description: str | None = Field(examples=[None])


class Tag(Shown):
    id: int = Field(examples=[11])
    value: str = Field(examples=["reading"])


class BadgeCredential(Shown):
    """The Open Campus credential every award of the badge issues to a holder."""

    kind: Literal["OCA", "OCB"] = Field(examples=["OCA"])
    achievement_type: str = Field(
        json_schema_extra={"enum": list(ACHIEVEMENT_TYPES)}, examples=["Badge"]
    )
    collection_symbol: str | None = omitted("An OCB's only (`ocbadge` unless given)")


class Badge(Shown):
    """A badge as BadgeKit shows it, with absolute image URLs and Plaudit's `credential`."""

    id: int = Field(examples=[12])
    slug: str = Field(examples=["reading-champion"])
    name: str = Field(examples=["Reading Champion"])
    strapline: str | None = Field(examples=["Read twelve books in a year"])
    earner_description: str = Field(examples=["You read twelve books this year."])
    consumer_description: str = Field(examples=["The holder read twelve books in a year."])
    issuer_url: str | None = Field(examples=[None])
    rubric_url: str | None = Field(examples=[None])
    time_value: int | None = Field(examples=[None])
    time_units: Literal["minutes", "hours", "days", "weeks"] | None = Field(examples=[None])
    limit: int | None = Field(examples=[None], description="At most this many active awards")
    unique: Bit = Field(examples=[1], description="1: an email holds it at most once at a time")
    created: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    image_url: str | None = Field(examples=["https://badges.example.org/public/images/5f2b9c0e"])
    type: str = Field(examples=[""])
    archived: bool = Field(examples=[False])
    system: Organization
    issuer: Organization | None = omitted("Only for a badge of an issuer or one of its programs")
    program: Organization | None = omitted("Only for a badge of a program")
    criteria_url: str = Field(examples=["https://library.example.org/reading"])
    criteria: list[Criterion]
    alignments: list[Alignment]
    evidence_type: Literal["URL", "Text", "Photo", "Video", "Sound"] | None = Field(examples=[None])
    categories: list[str] = Field(examples=[["literacy"]])
    tags: list[Tag]
    credential: BadgeCredential | None = Field(
        description="null: awards issue no Open Campus credential"
    )


class BadgeByCode(Badge):
    """A badge found by one of its claim codes."""

    claimed: Bit = Field(examples=[0], description="1 only for a used single-use code")


class ClaimCode(Shown):
    id: int = Field(examples=[5])
    code: str = Field(examples=["a1b2c3d4e5"])
    claimed: bool = Field(examples=[False])
    email: str | None = Field(examples=[None])
    multiuse: bool = Field(examples=[False])


class ClaimCodeReply(Shown):
    """`{claimCode, badge}`."""

    claim_code: ClaimCode
    badge: Badge


class ClaimCodeList(Shown):
    """`{claimCodes, badge, pageData?}`."""

    claim_codes: list[ClaimCode]
    badge: Badge
    page_data: PageData | None = omitted("Only with ?page=&count=")
