"""Awards (BadgeKit's instances), applications, reviews and milestones
(`services.badges.domain`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.gateway.responses.badges import Badge, Bit
from services.gateway.responses.envelopes import Shown, omitted

CredentialStatus = Literal["pending", "issued", "failed", "cancelled"]


class InstanceCredential(Shown):
    """The Open Campus credential an award issues."""

    id: str = Field(examples=["0b6f3f56-4a0e-4b7e-9d59-0f1d2f0c9a11"])
    status: CredentialStatus = Field(examples=["pending"])
    vc_id: str | None = omitted("Once issued, where Open Campus names it")


class Instance(Shown):
    """An award."""

    slug: str = Field(examples=["9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d"])
    email: str = Field(examples=["learner@example.org"])
    expires: datetime | None = Field(examples=[None])
    issued_on: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    claim_code: str | None = Field(examples=[None])
    assertion_url: str = Field(
        json_schema_extra={"format": "uri"},
        examples=["https://badges.example.org/public/assertions/9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d"],
    )
    open_badge_credential_url: str = Field(
        json_schema_extra={"format": "uri"},
        description="Its signed Open Badges 3.0 credential (JSON-LD; VC-JWT on request)",
        examples=["https://badges.example.org/public/credentials/9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d"],
    )
    badge: Badge | None = Field(description="null in the answer to an award, as in BadgeKit")
    credential: InstanceCredential | None = omitted(
        "Only for an award that issues an Open Campus credential"
    )


class Evidence(Shown):
    url: str | None = Field(examples=["https://portfolio.example.org/essay"])
    media_type: Literal["image", "link"] | None = Field(examples=["link"])
    reflection: str | None = Field(examples=["My essay on the books I read"])


class Application(Shown):
    id: int = Field(examples=[4])
    slug: str = Field(examples=["6f1e0c3a9d2b4c8e"])
    learner: str = Field(examples=["learner@example.org"])
    created: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    assigned_to: str | None = Field(examples=[None])
    assigned_expiration: datetime | None = Field(examples=[None])
    badge: Badge
    processed: datetime | None = Field(examples=[None])
    evidence: list[Evidence]


class ReviewItem(Shown):
    criterion_id: int = Field(examples=[7])
    satisfied: Bit = Field(examples=[1])
    comment: str | None = Field(examples=[None])


class Review(Shown):
    id: int = Field(examples=[2])
    slug: str = Field(examples=["c4ca4238a0b92382"])
    author: str = Field(examples=["reviewer@library.example.org"])
    comment: str | None = Field(examples=["Well done"])
    review_items: list[ReviewItem]


class Milestone(Shown):
    id: int = Field(examples=[1])
    action: Literal["issue", "queue-application"] = Field(examples=["issue"])
    number_required: int = Field(examples=[2])
    primary_badge: Badge | None
    support_badges: list[Badge]


class BadgeWithMilestones(Badge):
    """A badge read alone: with the milestones it is the primary badge of."""

    milestones: list[Milestone]


class InstancesCreated(Shown):
    """The answer to an award in bulk: only the new awards."""

    status: Literal["created"]
    instances: list[Instance]
