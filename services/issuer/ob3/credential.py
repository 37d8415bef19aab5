"""An award as an unsigned Open Badges 3.0 `OpenBadgeCredential` (VC Data Model 2.0, OB 3.0.3).

The badge becomes the `Achievement`, the system the issuer `Profile` (its id is the system's
DID), the award the credential: `validFrom` its date, `validUntil` its expiry, its evidence.
The recipient is a salted hash of the email, computed as for the Open Badges 2.0 assertion, so
the email itself never appears in the document.

The document uses only terms of its two contexts (VC 2.0 and OB 3.0.3): anything else would be
dropped by JSON-LD expansion, left out of an `eddsa-rdfc-2022` signature, and refused by a
verifier in JSON-LD safe mode. So a badge field without an OB 3.0 term (a strapline, categories,
the time value) is left out rather than invented.

The inputs are what the issuer service learns from `badge.awarded`: the badge as responses show
it (`services/badges/domain/badges.py`), the award's fields, and the system's profile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.issuer.ob3.status_list import status_entry
from shared.opencampus import ACHIEVEMENT_TYPES
from shared.public_urls import credential_url

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = (VC_CONTEXT, OB_CONTEXT)
# A badge without an Open Campus credential is, in OB 3.0's vocabulary, a badge.
DEFAULT_ACHIEVEMENT_TYPE = "Badge"
EXTENSION_PREFIX = "ext:"


@dataclass(frozen=True)
class Issuer:
    """The system as the issuer `Profile`: its DID and its organization's public fields."""

    did: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image: str | None = None

    @classmethod
    def from_wire(cls, org: Mapping[str, Any], did: str) -> Issuer:
        """From an organization as responses show it (`{name, url, email, description,
        imageUrl}`, the badge's `system` among them)."""
        return cls(
            did=did,
            name=org["name"],
            url=org.get("url") or None,
            email=org.get("email") or None,
            description=org.get("description") or None,
            image=org.get("imageUrl") or None,
        )


@dataclass(frozen=True)
class Alignment:
    name: str
    url: str
    description: str | None = None


@dataclass(frozen=True)
class Badge:
    """The badge as the `Achievement`. `id` is its public BadgeClass URL; `criteria` the
    narrative of its criteria; `achievement_type` that of its Open Campus credential, if any."""

    id: str
    name: str
    description: str
    image: str | None = None
    criteria_url: str | None = None
    criteria: str | None = None
    achievement_type: str | None = None
    alignments: tuple[Alignment, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, shown: Mapping[str, Any], url: str) -> Badge:
        """From a badge as responses and `badge.awarded` show it; `url` is its BadgeClass URL."""
        credential = shown.get("credential") or {}
        return cls(
            id=url,
            name=shown["name"],
            description=(
                shown.get("consumerDescription") or shown.get("earnerDescription") or shown["name"]
            ),
            image=shown.get("imageUrl") or None,
            criteria_url=shown.get("criteriaUrl") or None,
            criteria=criteria_narrative(shown.get("criteria") or []),
            achievement_type=credential.get("achievementType"),
            alignments=tuple(
                Alignment(item["name"], item["url"], item.get("description") or None)
                for item in shown.get("alignments") or []
            ),
            tags=tuple(tag["value"] for tag in shown.get("tags") or []),
        )


@dataclass(frozen=True)
class Award:
    """One award: `slug` names its public URLs; `salt` is its own, as in its OB 2.0 assertion."""

    slug: str
    email: str
    salt: str
    issued_on: datetime
    expires: datetime | None = None
    evidence_url: str | None = None
    narrative: str | None = None


@dataclass(frozen=True)
class StatusSlot:
    """Where the award's revocation bit is: the list's URL and the index in it."""

    list_url: str
    index: int


def identity_hash(email: str, salt: str) -> str:
    """`sha256$` + hex(sha256(email trimmed and lowercased + salt)): the OB 2.0 assertion's
    `recipient.identity` (services/badges/domain/public.py), so both name the recipient alike."""
    digest = hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    return f"sha256${digest}"


def xsd_datetime(moment: datetime) -> str:
    """A `dateTimeStamp` in UTC with `Z`, to the second (as a VC-JWT's `nbf` and `exp`)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def criteria_narrative(criteria: list[Mapping[str, Any]]) -> str | None:
    """BadgeKit's criteria (`[{description, required, note}]`) as one Markdown list."""
    lines = []
    for item in criteria:
        description = (item.get("description") or "").strip()
        if description:
            optional = "" if item.get("required", 1) else " (optional)"
            lines.append(f"- {description}{optional}")
    return "\n".join(lines) or None


def achievement_type(badge: Badge) -> str:
    value = badge.achievement_type or DEFAULT_ACHIEVEMENT_TYPE
    if value not in ACHIEVEMENT_TYPES and not value.startswith(EXTENSION_PREFIX):
        raise ValueError(f"{value!r} is not an OB 3.0 achievement type")
    return value


def build(
    award: Award, badge: Badge, issuer: Issuer, status: StatusSlot, *, base_url: str
) -> dict[str, Any]:
    """The unsigned credential of `award`; signing adds `proof` (or wraps it in a VC-JWT)."""
    document: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_url(base_url, award.slug),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _profile(issuer),
        "name": badge.name,
        "validFrom": xsd_datetime(award.issued_on),
    }
    if award.expires is not None:
        document["validUntil"] = xsd_datetime(award.expires)
    document["credentialSubject"] = _subject(award, badge)
    if award.evidence_url is not None:
        document["evidence"] = [{"id": award.evidence_url, "type": ["Evidence"]}]
    document["credentialStatus"] = status_entry(status.list_url, status.index)
    return document


def _image(url: str) -> dict[str, Any]:
    return {"id": url, "type": "Image"}


def _profile(issuer: Issuer) -> dict[str, Any]:
    profile: dict[str, Any] = {"id": issuer.did, "type": ["Profile"], "name": issuer.name}
    if issuer.url:
        profile["url"] = issuer.url
    if issuer.email:
        profile["email"] = issuer.email
    if issuer.description:
        profile["description"] = issuer.description
    if issuer.image:
        profile["image"] = _image(issuer.image)
    return profile


def _subject(award: Award, badge: Badge) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": identity_hash(award.email, award.salt),
                "salt": award.salt,
            }
        ],
        "achievement": _achievement(badge),
    }
    if award.narrative:
        subject["narrative"] = award.narrative
    return subject


def _achievement(badge: Badge) -> dict[str, Any]:
    criteria: dict[str, Any] = {}
    if badge.criteria_url:
        criteria["id"] = badge.criteria_url
    if badge.criteria:
        criteria["narrative"] = badge.criteria
    if not criteria:
        # OB 3.0 wants an id or a narrative: the badge's own page shows what it asks.
        criteria["id"] = badge.id
    achievement: dict[str, Any] = {
        "id": badge.id,
        "type": ["Achievement"],
        "name": badge.name,
        "description": badge.description,
        "criteria": criteria,
        "achievementType": achievement_type(badge),
    }
    if badge.image:
        achievement["image"] = _image(badge.image)
    if badge.alignments:
        achievement["alignment"] = [_alignment(item) for item in badge.alignments]
    if badge.tags:
        achievement["tag"] = list(badge.tags)
    return achievement


def _alignment(item: Alignment) -> dict[str, Any]:
    alignment: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": item.name,
        "targetUrl": item.url,
    }
    if item.description:
        alignment["targetDescription"] = item.description
    return alignment
