"""The Open Badges 2.0 documents: hosted Assertion, BadgeClass, Issuer profile.

Absolute URLs under PUBLIC_URL. No recipient's email ever appears in clear: the recipient is a
salted hash. An issuer profile shows the organization's own contact email, which its owner set
for that (BadgeKit's IssuerOrganization shows it; the Open Badges 2.0 Issuer has `email`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from services.badges.domain.instances import Row
from services.badges.domain.organizations import image_url
from shared.public_urls import assertion_url, badge_class_url, profile_url

CONTEXT = "https://w3id.org/openbadges/v2"


def identity(email: str, salt: str) -> str:
    """`sha256$` + hex(sha256(email + salt)). The email is lowercased first: addresses are
    matched case-insensitively, and so do backpacks that check the hash."""
    digest = hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    return f"sha256${digest}"


def recipient(email: str, salt: str) -> dict[str, Any]:
    return {"type": "email", "hashed": True, "salt": salt, "identity": identity(email, salt)}


def assertion(row: Row, base_url: str) -> dict[str, Any]:
    """A hosted Assertion; a revoked one also says so (it is served with 410 Gone). Optional
    members appear only where the award has them."""
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": assertion_url(base_url, row["slug"]),
        "recipient": recipient(row["email"], row["salt"]),
        "badge": badge_class_url(
            base_url, row["system"], row["issuer"], row["program"], row["badge"]
        ),
        "verification": {"type": "HostedBadge"},
        "issuedOn": row["issued_on"].isoformat(),
    }
    if row["expires"] is not None:
        document["expires"] = row["expires"].isoformat()
    if row["evidence_url"] is not None:
        document["evidence"] = row["evidence_url"]
    if row["narrative"] is not None:
        # The Assertion's own `narrative` (Markdown), as the OB 3.0 credential puts it on its
        # subject (OB 3.0's counterpart of it): `evidence` stays the bare URL it always was.
        document["narrative"] = row["narrative"]
    if row["revoked_at"] is not None:
        document["revoked"] = True
        if row["revocation_reason"]:
            document["revocationReason"] = row["revocation_reason"]
    return document


def _slug(org: Mapping[str, Any] | None) -> str | None:
    return org["slug"] if org is not None else None


def badge_class(row: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A badge (a row of `repository.badges`) as a BadgeClass; its issuer is the profile of the
    badge's own level."""
    system, issuer, program = row["system"]["slug"], _slug(row["issuer"]), _slug(row["program"])
    alignments = []
    for item in row["alignments"]:
        alignment = {"targetName": item["name"], "targetUrl": item["url"]}
        if item["description"]:
            alignment["targetDescription"] = item["description"]
        alignments.append(alignment)
    return {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": badge_class_url(base_url, system, issuer, program, row["slug"]),
        "name": row["name"],
        "description": row["consumer_description"],
        "image": image_url(row, base_url),
        "criteria": {"id": row["criteria_url"]},
        "issuer": profile_url(base_url, system, issuer, program),
        "alignment": alignments,
        "tags": [tag["value"] for tag in row["tags"]],
    }


def issuer_profile(levels: Sequence[Mapping[str, Any]], url: str, base_url: str) -> dict[str, Any]:
    """An Issuer profile from organizations, nearest first (program, issuer, system): each
    field comes from the first that has it (as BadgeKit's IssuerOrganization)."""

    def first(read: Any) -> Any:
        for org in levels:
            value = read(org)
            if value:
                return value
        return None

    profile: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": url,
        "name": first(lambda org: org["name"]),
        "url": first(lambda org: org["url"]),
    }
    email = first(lambda org: org["email"])
    if email:
        profile["email"] = email
    description = first(lambda org: org["description"])
    if description:
        profile["description"] = description
    image = first(lambda org: image_url(org, base_url))
    if image:
        profile["image"] = image
    return profile
