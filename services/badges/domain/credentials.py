"""Open Campus credentials of badges and awards: the rules and the body Open Campus receives.

A badge with a `credential` issues an OCA or OCB to every award that names a holder
(`holderOcId`, or `holderAddress` for an OCB). The body is built here from the badge and the
award, and checked with `shared.opencampus` before the award commits: a body Open Campus would
refuse is a 400 to the caller, never a command to the issuer. Its `issuerReferenceId` derives
from the award's uid, so every attempt the issuer makes carries the same one.

The recipient's name and email go into the body of an OCA only; nothing here logs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pydantic

from shared.errors import ValidationFailed
from shared.messages.credentials import CredentialSpec
from shared.messages.instances import AwardFields
from shared.opencampus import (
    IDENTIFIER_MAX,
    HttpUri,
    InvalidIssueRequest,
    IssueRequest,
    validate_issue_request,
)

REFERENCE_PREFIX = "plaudit:"
# The index that keeps a system's Open Campus identifiers unique (migration 0004).
IDENTIFIER_INDEX = "badges_credential_identifier"

_HTTP_URI: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(HttpUri)


def identifier(slug: str) -> str:
    """A badge's Open Campus `achievement.identifier`: its slug cut to 50 characters."""
    return slug[:IDENTIFIER_MAX]


def reference_id(award_uid: uuid.UUID) -> str:
    """The `issuerReferenceId` of an award's credential, the same on every attempt."""
    return f"{REFERENCE_PREFIX}{award_uid}"


def stored(spec: CredentialSpec | None) -> dict[str, Any] | None:
    """A badge's `credential` as stored and shown: `collectionSymbol` only for an OCB."""
    if spec is None:
        return None
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def spec_of(badge: Mapping[str, Any]) -> CredentialSpec | None:
    """The credential a badge row (of `repository.badges`) issues, if any."""
    value = badge.get("credential")
    return CredentialSpec.model_validate(value) if value is not None else None


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z`, to the millisecond, as Open Campus shows dates."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_millisecond(moment: datetime) -> datetime:
    """`moment` cut to the millisecond, so the stored award and its credential agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _http_image(url: str | None) -> str | None:
    """The image URL when Open Campus accepts it (an http(s) URI), else None (it is optional)."""
    if url is None:
        return None
    try:
        return _HTTP_URI.validate_python(url)
    except pydantic.ValidationError:
        return None


@dataclass(frozen=True)
class Holder:
    """Who an award's credential goes to: exactly one of `oc_id` / `address`; `name` for an OCA
    (None for an OCB, which carries neither name nor email)."""

    spec: CredentialSpec
    oc_id: str | None
    address: str | None
    name: str | None


def _detail(field: str, value: str, message: str) -> dict[str, Any]:
    return {"field": field, "value": value, "message": message}


def holder_of(badge: Mapping[str, Any], fields: AwardFields) -> Holder | None:
    """The holder an award names, checked against the badge's credential; None for a plain
    award (no holder given). Raises ValidationFailed with every problem at once."""
    oc_id, address = fields.holder_oc_id, fields.holder_address
    if oc_id is None and address is None:
        return None
    spec = spec_of(badge)
    given = "holderOcId" if oc_id is not None else "holderAddress"
    if spec is None:
        message = f"Badge {badge['slug']} issues no credential: leave out {given}"
        raise ValidationFailed([_detail(given, oc_id or address or "", message)])
    problems = []
    if spec.kind == "OCA":
        if address is not None:
            message = "An OCA goes to an OCID: use holderOcId"
            problems.append(_detail("holderAddress", address, message))
        if fields.name is None:
            problems.append(_detail("name", "", "Required for an OCA (the recipient's name)"))
    if problems:
        raise ValidationFailed(problems)
    return Holder(spec, oc_id, address, fields.name if spec.kind == "OCA" else None)


def issue_request(
    badge: Mapping[str, Any],
    image_url: str | None,
    holder: Holder,
    *,
    award_uid: uuid.UUID,
    email: str,
    issued_on: datetime,
    expires: datetime | None,
) -> IssueRequest:
    """The Open Campus body of an award's credential, validated; `badge` is a row of
    `repository.badges`, `image_url` its absolute image URL. Raises ValidationFailed with
    Open Campus's field paths when Open Campus would refuse it."""
    try:
        return validate_issue_request(
            _body(
                badge,
                image_url,
                holder,
                reference=reference_id(award_uid),
                email=email,
                issued_on=issued_on,
                expires=expires,
            )
        )
    except InvalidIssueRequest as error:
        raise ValidationFailed(_without_personal_values(error.details)) from None


def _body(
    badge: Mapping[str, Any],
    image_url: str | None,
    holder: Holder,
    *,
    reference: str,
    email: str,
    issued_on: datetime,
    expires: datetime | None,
) -> dict[str, Any]:
    spec = holder.spec
    image = _http_image(image_url)
    achievement = {
        "identifier": identifier(badge["slug"]),
        "name": badge["name"],
        "description": badge["earner_description"],
        "achievementType": spec.achievement_type,
    }
    subject: dict[str, Any] = {"type": "Person", "achievement": achievement}
    if image is not None:
        subject["image"] = image
    if spec.kind == "OCA":
        subject["name"] = holder.name
        subject["email"] = email
    payload: dict[str, Any] = {
        "validFrom": iso(issued_on),
        "awardedDate": iso(issued_on),
        "description": badge["consumer_description"],
        "credentialSubject": subject,
    }
    if expires is not None:
        payload["validUntil"] = iso(expires)
    if image is not None:
        payload["image"] = image
    body: dict[str, Any] = {"credentialPayload": payload, "issuerReferenceId": reference}
    if holder.oc_id is not None:
        body["holderOcId"] = holder.oc_id
    else:
        body["holderAddress"] = holder.address
    if spec.kind == "OCB":
        body["collectionSymbol"] = spec.collection_symbol
    return body


_PERSONAL = ("credentialSubject.name", "credentialSubject.email")


def _without_personal_values(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**detail, "value": ""} if detail["field"].endswith(_PERSONAL) else detail
        for detail in details
    ]


# Where each part of the Open Campus body comes from on the badge.
_BADGE_FIELDS = {
    "credentialPayload.description": "consumerDescription",
    "credentialPayload.image": "imageUrl",
    "credentialPayload.credentialSubject.image": "imageUrl",
    "credentialPayload.credentialSubject.achievement.identifier": "slug",
    "credentialPayload.credentialSubject.achievement.name": "name",
    "credentialPayload.credentialSubject.achievement.description": "earnerDescription",
    "credentialPayload.credentialSubject.achievement.achievementType": (
        "credential.achievementType"
    ),
    "collectionSymbol": "credential.collectionSymbol",
}
# A holder that Open Campus accepts, to try a badge's body before any award names a real one.
_SAMPLE_OCID = "holder.edu"
_SAMPLE_NAME = "Sample Recipient"
_SAMPLE_EMAIL = "recipient@example.org"
_SAMPLE_UID = uuid.UUID(int=0)


def badge_problems(badge: Mapping[str, Any], image_url: str | None) -> list[dict[str, Any]]:
    """What in a credential badge (a row of `repository.badges`) would make Open Campus refuse
    the credential of every award of it, as details naming the badge's fields."""
    spec = spec_of(badge)
    if spec is None:
        return []
    sample = Holder(spec, _SAMPLE_OCID, None, _SAMPLE_NAME if spec.kind == "OCA" else None)
    body = _body(
        badge,
        image_url,
        sample,
        reference=reference_id(_SAMPLE_UID),
        email=_SAMPLE_EMAIL,
        issued_on=datetime.now(UTC),
        expires=None,
    )
    try:
        validate_issue_request(body)
    except InvalidIssueRequest as error:
        return [
            {**detail, "field": _BADGE_FIELDS.get(detail["field"], "credential")}
            for detail in error.details
        ]
    return []


def identifier_taken(slug: str, field: str) -> ValidationFailed:
    """Another credential badge of the system has the same Open Campus identifier."""
    return ValidationFailed(
        [
            _detail(
                field,
                slug if field == "slug" else "",
                f"Another badge of this system that issues a credential has the Open Campus"
                f" identifier `{identifier(slug)}` (the slug cut to {IDENTIFIER_MAX} characters):"
                f" a badge's credential needs a slug that differs in its first"
                f" {IDENTIFIER_MAX} characters",
            )
        ]
    )
