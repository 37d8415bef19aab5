"""The Open Campus issuance call, `POST {OPEN_CAMPUS_BASE_URL}/issuer/vc`, as a validated model.

One model serves three places: the gateway refuses a bad direct request with field details,
the issuer checks every body again before it sends it (nothing Open Campus would refuse ever
leaves Plaudit), and the sandbox applies the same rules as the real API. The rules are those of
the seed document (`seeds/open-campus-issuance-api.md`) and what integrators observed
(`reference/opencampus-ob3.md`): required fields, ISO 8601 dates, `achievement.identifier` at
most 50 characters, `achievementType` among the 31 Open Badges 3.0 values, http(s) URIs,
exactly one of `holderOcId` / `holderAddress` (an OCA goes to an OCID), and for an OCA the
recipient's `name` and `email`. Unknown fields are refused, so nothing unexpected is sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

ISSUE_PATH = "/issuer/vc"
API_KEY_HEADER = "X-API-KEY"
DUPLICATE_SUBTYPE = "DUPLICATE_ISSUANCE_ERROR"
IDENTIFIER_MAX = 50
REFERENCE_MAX = 128

# The Open Badges 3.0 AchievementType enumeration, in Open Campus's order (their appendix).
ACHIEVEMENT_TYPES = (
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
)

# An OCID is a `.edu` name (`bob.edu`); Open Campus publishes no finer rule.
_OCID = re.compile(r"^[a-z0-9][a-z0-9._-]*\.edu$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_REFERENCE = re.compile(r"^[\x21-\x7e]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _iso_datetime(value: str) -> str:
    """An ISO 8601 date and time with a zone, kept exactly as given."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise PydanticCustomError(
            "iso_datetime", "Invalid date: use ISO 8601 with a time zone, e.g. 2024-01-31T12:00:00Z"
        )
    return value


def _http_uri(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise PydanticCustomError("url", "Invalid URL: use an http(s) URI")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("required", "Required field")
    return value


def _pattern(regex: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise PydanticCustomError("pattern", message)
        return value

    return AfterValidator(check)


# Each type states what it accepts as JSON schema too, for the OpenAPI document (the validators
# decide; the schema is never wider than they are).
_NOT_BLANK = r"\S"
IsoDateTime = Annotated[
    str, AfterValidator(_iso_datetime), WithJsonSchema({"type": "string", "format": "date-time"})
]
HttpUri = Annotated[
    str,
    Field(max_length=2048),
    AfterValidator(_http_uri),
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "maxLength": 2048,
            "pattern": r"^https?://[^\s/?#]+[^\s]*$",
        }
    ),
]
Text = Annotated[
    str,
    Field(max_length=10_000),
    AfterValidator(_text),
    WithJsonSchema({"type": "string", "maxLength": 10_000, "pattern": _NOT_BLANK}),
]
Identifier = Annotated[
    str,
    Field(min_length=1, max_length=IDENTIFIER_MAX),
    AfterValidator(_text),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": IDENTIFIER_MAX, "pattern": _NOT_BLANK}
    ),
]


def _achievement_type(value: str) -> str:
    if value not in ACHIEVEMENT_TYPES:
        raise PydanticCustomError(
            "enum", "Value must be one of the Open Badges 3.0 achievement types, e.g. Badge"
        )
    return value


# This module stands alone (the message models import it), so its checks are its own.
AchievementType = Annotated[
    str,
    AfterValidator(_achievement_type),
    WithJsonSchema({"type": "string", "enum": list(ACHIEVEMENT_TYPES)}),
]
Email = Annotated[
    str,
    Field(max_length=255),
    _pattern(_EMAIL, "Invalid email"),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 255}),
]
Ocid = Annotated[
    str,
    Field(max_length=255),
    _pattern(_OCID, "Invalid OCID: a lowercase .edu name, e.g. bob.edu"),
    WithJsonSchema({"type": "string", "maxLength": 255, "pattern": _OCID.pattern}),
]
Address = Annotated[
    str,
    _pattern(_ADDRESS, "Invalid address: 0x and 40 hexadecimal digits"),
    WithJsonSchema({"type": "string", "pattern": _ADDRESS.pattern}),
]
Reference = Annotated[
    str,
    Field(min_length=1, max_length=REFERENCE_MAX),
    _pattern(_REFERENCE, "Invalid issuerReferenceId: visible ASCII characters only"),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": REFERENCE_MAX,
            "pattern": _REFERENCE.pattern,
        }
    ),
]
CustomField = "ext:OC_CUSTOM:custom"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid"
    )


class Attachment(BaseModel):
    """Open Campus publishes no standard for attachments beyond `{url, type, title}`."""

    model_config = ConfigDict(frozen=True, extra="allow")

    url: HttpUri | None = None
    type: str | None = None
    title: str | None = None


class Achievement(_Model):
    identifier: Identifier
    achievement_type: AchievementType
    name: Text
    description: Text
    attachments: list[Attachment] | None = None


class CredentialSubject(_Model):
    achievement: Achievement
    type: Literal["Person"] = "Person"
    name: Annotated[str, Field(max_length=255), AfterValidator(_text)] | None = None
    email: Email | None = None
    profile_url: HttpUri | None = None
    image: HttpUri | None = None
    custom: dict[str, Any] | None = Field(default=None, alias=CustomField)


class CredentialPayload(_Model):
    awarded_date: IsoDateTime
    description: Text
    valid_from: IsoDateTime
    valid_until: IsoDateTime | None = None
    image: HttpUri | None = None
    credential_subject: CredentialSubject

    @model_validator(mode="after")
    def _until_after_from(self) -> Self:
        if self.valid_until is not None and datetime.fromisoformat(
            self.valid_until
        ) <= datetime.fromisoformat(self.valid_from):
            raise PydanticCustomError("valid_until", "validUntil must come after validFrom")
        return self


class IssueRequest(_Model):
    """The body of `POST /issuer/vc`. With `collectionSymbol` it is an OCB, otherwise an OCA."""

    credential_payload: CredentialPayload
    holder_oc_id: Ocid | None = None
    holder_address: Address | None = None
    collection_symbol: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    issuer_reference_id: Reference | None = None

    @property
    def kind(self) -> Literal["OCA", "OCB"]:
        return "OCB" if self.collection_symbol is not None else "OCA"

    @model_validator(mode="after")
    def _holder_and_kind(self) -> Self:
        problems = holder_problems(self.to_wire())
        if problems:
            raise ValueError(problems)
        return self

    def to_wire(self) -> dict[str, Any]:
        """The JSON Open Campus receives: exactly the fields given (never a null holder)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class InvalidIssueRequest(ValueError):
    """A body Open Campus would refuse; `details` are `{field, value, message}` entries."""

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("invalid Open Campus request")
        self.details = details


def holder_problems(data: Any) -> list[tuple[str, str]]:
    """The rules across fields: exactly one holder; an OCA goes to an OCID with a name and an
    email. Checked on the raw body, so they are reported with every other problem."""
    if not isinstance(data, dict):
        return []
    problems: list[tuple[str, str]] = []
    if (data.get("holderOcId") is None) == (data.get("holderAddress") is None):
        problems.append(("holderOcId", "Send exactly one of holderOcId or holderAddress"))
    if data.get("collectionSymbol") is None:
        if data.get("holderAddress") is not None:
            problems.append(("holderAddress", "An OCA goes to an OCID: use holderOcId"))
        payload = data.get("credentialPayload")
        subject = payload.get("credentialSubject") if isinstance(payload, dict) else None
        if isinstance(subject, dict):
            for field in ("name", "email"):
                if subject.get(field) is None:
                    problems.append(
                        (f"credentialPayload.credentialSubject.{field}", "Required for an OCA")
                    )
    return problems


def _detail(item: Any) -> dict[str, Any] | None:
    context = item.get("ctx", {}).get("error")
    if isinstance(context, ValueError) and context.args and isinstance(context.args[0], list):
        return None  # the cross-field rules, reported from the raw body instead
    message = item["msg"]
    if item["type"] == "missing":
        message = "Required field"
    elif item["type"] == "extra_forbidden":
        message = "Unknown field"
    value = item.get("input") if item["type"] != "missing" else None
    return {
        "field": ".".join(str(part) for part in item["loc"]),
        "value": value if isinstance(value, str | int | float | bool) else "",
        "message": message,
    }


def validate_issue_request(data: Any) -> IssueRequest:
    """`data` as an `IssueRequest`, or `InvalidIssueRequest` listing every problem at once."""
    details = [
        {"field": field, "value": "", "message": message}
        for field, message in holder_problems(data)
    ]
    try:
        request = IssueRequest.model_validate(data)
    except pydantic.ValidationError as error:
        details += [d for item in error.errors() if (d := _detail(item)) is not None]
    if details:
        raise InvalidIssueRequest(details)
    return request
