"""Readable, unique test data, created through the API as a client would."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.client import Client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def organization_body(slug: str, **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "name": f"Name of {slug}", "url": f"https://{slug}.example.org", **extra}


def badge_body(**extra: Any) -> dict[str, Any]:
    return {
        "slug": unique("badge"),
        "name": "Reading Champion",
        "earnerDescription": "You read twenty books.",
        "consumerDescription": "The earner read twenty books this summer.",
        "criteriaUrl": "https://example.org/criteria",
        "unique": False,
        "imageUrl": "https://example.org/badge.png",
        **extra,
    }


async def created(client: Client, path: str, body: dict[str, Any], name: str) -> dict[str, Any]:
    answer = await client.post(path, json=body)
    assert answer.status == 201, f"POST {path}: {answer.status} {answer.body}"
    resource: dict[str, Any] = answer.body[name]
    return resource


async def make_system(client: Client, **extra: Any) -> str:
    """A new system; its path (`/systems/<slug>`)."""
    slug = unique("sys")
    await created(client, "/systems", organization_body(slug, **extra), "system")
    return f"/systems/{slug}"


async def make_issuer(client: Client, system: str | None = None) -> str:
    """A new issuer (in a new system unless given); its path."""
    system = system or await make_system(client)
    slug = unique("iss")
    await created(client, f"{system}/issuers", organization_body(slug), "issuer")
    return f"{system}/issuers/{slug}"


async def make_program(client: Client, issuer: str | None = None) -> str:
    """A new program (under a new issuer unless given); its path."""
    issuer = issuer or await make_issuer(client)
    slug = unique("prog")
    await created(client, f"{issuer}/programs", organization_body(slug), "program")
    return f"{issuer}/programs/{slug}"


async def make_badge(client: Client, context: str | None = None, **extra: Any) -> str:
    """A new badge in `context` (a system, issuer or program path; a new system unless given);
    its path (`<context>/badges/<slug>`)."""
    context = context or await make_system(client)
    badge = await created(client, f"{context}/badges", badge_body(**extra), "badge")
    return f"{context}/badges/{badge['slug']}"


def oc_body(reference: str | None = None, **subject: Any) -> dict[str, Any]:
    """An Open Campus issuance body (`POST /systems/:s/credentials`), as the seed document
    shows it."""
    body: dict[str, Any] = {
        "credentialPayload": {
            "awardedDate": "2024-01-31T12:00:00Z",
            "validFrom": "2024-01-31T12:00:00Z",
            "description": "Completed the summer reading programme",
            "credentialSubject": {
                "type": "Person",
                "name": "Ada Reader",
                "email": "ada@example.org",
                "achievement": {
                    "identifier": "summer-reading",
                    "achievementType": "Badge",
                    "name": "Summer Reader",
                    "description": "Twenty books in one summer",
                },
                **subject,
            },
        },
        "holderOcId": "ada.edu",
    }
    if reference is not None:
        body["issuerReferenceId"] = reference
    return body
