"""Systems, issuers and programs as responses show them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def image_url(row: Mapping[str, Any], base_url: str) -> str | None:
    """An uploaded image's public URL (absolute, under PUBLIC_URL), or the external URL."""
    if row.get("image_slug"):
        return f"{base_url}/public/images/{row['image_slug']}"
    url: str | None = row.get("image_url")
    return url


def organization(org: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    # BadgeKit's Systems.toResponse drops `description`; Plaudit returns it everywhere.
    return {
        "id": org["id"],
        "slug": org["slug"],
        "url": org["url"],
        "name": org["name"],
        "description": org["description"],
        "email": org["email"],
        "imageUrl": image_url(org, base_url),
    }


def program(found: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    return organization(found["org"], base_url)


def issuer(found: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    programs = [organization(item, base_url) for item in found["nested"] or []]
    return {**organization(found["org"], base_url), "programs": programs}


def system(found: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    issuers = [
        {
            **organization(item, base_url),
            "programs": [organization(p, base_url) for p in item["programs"]],
        }
        for item in found["nested"] or []
    ]
    return {**organization(found["org"], base_url), "issuers": issuers}
