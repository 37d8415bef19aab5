"""Badges (BadgeKit's badge classes) in a system, issuer or program (served by the badges
service)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from shared.messages.base import Command, Query
from shared.messages.common import ImageUpload, Scope, with_image, with_required_image
from shared.messages.credentials import CredentialSpec
from shared.messages.fields import (
    BlankIsNone,
    Fields,
    Flag,
    Int32,
    Int64,
    Listed,
    LongText,
    Name,
    OptionalFlag,
    OptionalLongText,
    OptionalText,
    OptionalUrl,
    Page,
    Patch,
    RequiredText,
    Slug,
    Strip,
    Url,
    not_null,
    one_of,
)

TimeUnits = Annotated[str, Strip, one_of("minutes", "hours", "days", "weeks")]
EvidenceType = Annotated[str, Strip, one_of("URL", "Text", "Photo", "Video", "Sound")]
Strapline = Annotated[str, Field(max_length=140)]
# Active awards at most; 0 is no limit, as BadgeKit and its web app write it.
Limit = Annotated[Int32, Field(ge=0)]


def _blank_is_none(value: Any) -> Any:
    """A form's `credential=` (left empty) is no credential."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# A badge's Open Campus credential (`null`: awards issue none). Form bodies nest it as
# `credential[kind]=OCA&credential[achievementType]=Badge`.
Credential = Annotated[CredentialSpec | None, BeforeValidator(_blank_is_none)]


def _tag_values(value: Any) -> Any:
    """Tags come as strings or as `{value}` objects (as BadgeKit lists them)."""
    if isinstance(value, list):
        return [item.get("value") if isinstance(item, dict) else item for item in value]
    return value


class CriterionInput(Fields):
    id: Int64 | None = None
    description: RequiredText
    required: Flag = False
    note: LongText = ""


class AlignmentInput(Fields):
    name: Name
    url: Url
    description: OptionalLongText = None


Values = Annotated[list[Annotated[str, Strip, Field(max_length=255)]], Listed]
Tags = Annotated[
    list[Annotated[str, Strip, Field(max_length=255)]], Listed, BeforeValidator(_tag_values)
]


class BadgeFields(Fields):
    """A new badge. The image comes apart: `imageUrl` (or `image` as a URL) or an upload."""

    model_config = ConfigDict(json_schema_extra=with_required_image)

    slug: Slug | None = None
    name: Name
    strapline: Strapline | None = None
    earner_description: RequiredText
    consumer_description: RequiredText
    criteria_url: Url
    unique: Flag
    issuer_url: OptionalUrl = None
    rubric_url: OptionalUrl = None
    image_url: OptionalUrl = None
    time_value: Annotated[Annotated[Int32, Field(ge=0)] | None, BlankIsNone] = None
    time_units: TimeUnits | None = None
    limit: Annotated[Limit | None, BlankIsNone] = None
    type: OptionalText = None
    evidence_type: EvidenceType | None = None
    criteria: Annotated[list[CriterionInput], Listed] = []
    alignments: Annotated[list[AlignmentInput], Listed] = []
    categories: Values = []
    tags: Tags = []
    credential: Credential = None


class BadgeChanges(Patch):
    """What PUT may change. Ids, the slug and the badge's place (system, issuer, program) never
    change; nested lists change only when given; `credential: null` removes the credential."""

    model_config = ConfigDict(json_schema_extra=with_image)

    name: Name | None = None
    strapline: Strapline | None = None
    earner_description: RequiredText | None = None
    consumer_description: RequiredText | None = None
    criteria_url: Url | None = None
    unique: OptionalFlag = None
    archived: OptionalFlag = None
    issuer_url: OptionalUrl = None
    rubric_url: OptionalUrl = None
    image_url: OptionalUrl = None
    time_value: Annotated[Annotated[Int32, Field(ge=0)] | None, BlankIsNone] = None
    time_units: TimeUnits | None = None
    limit: Annotated[Limit | None, BlankIsNone] = None
    type: OptionalText = None
    evidence_type: EvidenceType | None = None
    criteria: Annotated[list[CriterionInput], Listed] | None = None
    alignments: Annotated[list[AlignmentInput], Listed] | None = None
    categories: Values | None = None
    tags: Tags | None = None
    credential: Credential = None

    _not_null = field_validator(
        "name",
        "earner_description",
        "consumer_description",
        "criteria_url",
        "unique",
        "archived",
        mode="before",
    )(not_null)


class CreateBadge(Command):
    TYPE = "badges.create_badge"
    scope: Scope
    badge: BadgeFields
    image: ImageUpload | None = None


class GetBadge(Query):
    TYPE = "badges.get_badge"
    scope: Scope
    slug: str


class ListBadges(Query):
    TYPE = "badges.list_badges"
    scope: Scope
    archived: Literal["true", "false", "any"] = "false"
    page: Page | None = None


class ListPublicBadges(Query):
    """Every system's badges, for `GET /public/badges`."""

    TYPE = "badges.list_public_badges"
    archived: Literal["true", "false", "any"] = "false"
    page: Page | None = None


class UpdateBadge(Command):
    TYPE = "badges.update_badge"
    scope: Scope
    slug: str
    changes: BadgeChanges
    image: ImageUpload | None = None


class DeleteBadge(Command):
    TYPE = "badges.delete_badge"
    scope: Scope
    slug: str
