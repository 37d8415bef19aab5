"""Applications for a badge, their evidence and their reviews (served by the badges service),
and the events they cause."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Event, Query
from shared.messages.common import Scope
from shared.messages.fields import (
    Email,
    Fields,
    Flag,
    Int64,
    Listed,
    OptionalEmail,
    OptionalLongText,
    OptionalUrl,
    Page,
    Patch,
    Strip,
    one_of,
)
from shared.messages.instances import Timestamp, parse_timestamp

# Dates as award dates take them: ISO 8601, unix seconds or milliseconds; UTC without a zone.
OptionalDate = Timestamp
_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def _processed(value: Any) -> Any:
    """`processed` as a flag (true: processed now; false: not processed) or, as BadgeKit took
    any date, the time it was processed. 1 and 0 are flags, never unix times."""
    if value is None or isinstance(value, bool | datetime):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAGS:
        return _FLAGS[value.strip().lower()]
    try:
        return parse_timestamp(value)
    except PydanticCustomError:
        raise PydanticCustomError(
            "processed",
            "Invalid value: expected true, false or a date (ISO 8601, unix seconds or"
            " milliseconds)",
        ) from None


ProcessedAt = Annotated[bool | datetime | None, BeforeValidator(_processed)]
MediaType = Annotated[str, Strip, one_of("image", "link")]
Processed = Literal["true", "false", "any"]


def _required(value: Any) -> Any:
    """A field a PUT may change but never empty (`null` would break the row)."""
    if value is None:
        raise PydanticCustomError("required", "Required field")
    return value


class EvidenceInput(Fields):
    """One piece of evidence (BadgeKit stored these unvalidated): a link or an image, with the
    learner's reflection on it."""

    url: OptionalUrl = None
    media_type: Annotated[MediaType | None, BeforeValidator(lambda v: v or None)] = None
    reflection: OptionalLongText = None

    @model_validator(mode="after")
    def _not_empty(self) -> EvidenceInput:
        if self.url is None and self.reflection is None:
            raise PydanticCustomError("evidence", "Evidence needs a url or a reflection")
        return self


EvidenceList = Annotated[list[EvidenceInput], Listed]


class ApplicationFields(Fields):
    learner: Email
    evidence: EvidenceList = []
    assigned_to: OptionalEmail = None
    assigned_expiration: OptionalDate = None


class ApplicationChanges(Patch):
    """What PUT may change: `processed` true stamps the application as processed now, a date
    stamps it with that date, false clears it; `evidence`, when given, replaces the whole set."""

    learner: Email | None = None
    assigned_to: OptionalEmail = None
    assigned_expiration: OptionalDate = None
    processed: ProcessedAt = None
    evidence: EvidenceList | None = None

    _learner_required = field_validator("learner", mode="before")(_required)


class ListApplications(Query):
    """The applications of one badge, or (without `badge`) of every badge at or below the
    scope's level, ordered by badge then creation."""

    TYPE = "badges.list_applications"
    scope: Scope
    badge: str | None = None
    processed: Processed = "any"
    email: str | None = None
    page: Page | None = None


class GetApplication(Query):
    TYPE = "badges.get_application"
    scope: Scope
    badge: str
    slug: str


class CreateApplication(Command):
    TYPE = "badges.create_application"
    scope: Scope
    badge: str
    application: ApplicationFields


class UpdateApplication(Command):
    TYPE = "badges.update_application"
    scope: Scope
    badge: str
    slug: str
    changes: ApplicationChanges


class DeleteApplication(Command):
    """Deletes the application with its evidence and reviews."""

    TYPE = "badges.delete_application"
    scope: Scope
    badge: str
    slug: str


class ReviewItemInput(Fields):
    criterion_id: Int64
    satisfied: Flag
    comment: OptionalLongText = None


ReviewItems = Annotated[list[ReviewItemInput], Listed]


class ReviewFields(Fields):
    author: Email
    comment: OptionalLongText = None
    review_items: ReviewItems = []


class ReviewChanges(Patch):
    """What PUT may change; `reviewItems`, when given, replaces the items (and only then:
    BadgeKit wiped them when omitted)."""

    author: Email | None = None
    comment: OptionalLongText = None
    review_items: ReviewItems | None = None

    _author_required = field_validator("author", mode="before")(_required)


class ApplicationPath(Fields):
    """`{B}/applications/:application`: where a review request points."""

    scope: Scope
    badge: str
    application: str


class ListReviews(Query):
    TYPE = "badges.list_reviews"
    at: ApplicationPath
    page: Page | None = None


class GetReview(Query):
    TYPE = "badges.get_review"
    at: ApplicationPath
    slug: str


class CreateReview(Command):
    TYPE = "badges.create_review"
    at: ApplicationPath
    review: ReviewFields


class UpdateReview(Command):
    TYPE = "badges.update_review"
    at: ApplicationPath
    slug: str
    changes: ReviewChanges


class DeleteReview(Command):
    TYPE = "badges.delete_review"
    at: ApplicationPath
    slug: str


class ApplicationSubmitted(Event):
    TYPE = "application.submitted"
    system: str
    application: dict[str, Any]


class ApplicationReviewed(Event):
    """A review was written or changed. `approved`: every required criterion of the badge has a
    satisfied item in this review. Nothing is awarded: the subscriber decides and calls back."""

    TYPE = "application.reviewed"
    system: str
    application: dict[str, Any]
    review: dict[str, Any]
    approved: bool
