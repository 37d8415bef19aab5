"""Badges as responses show them: BadgeKit's fields and shapes (`unique` and a criterion's
`required` as 0/1, `archived` a boolean), with absolute image URLs, and Plaudit's `credential`
(null, or the Open Campus credential its awards issue)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.badges.domain.organizations import image_url, organization


def badge(row: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "strapline": row["strapline"],
        "earnerDescription": row["earner_description"],
        "consumerDescription": row["consumer_description"],
        "issuerUrl": row["issuer_url"],
        "rubricUrl": row["rubric_url"],
        "timeValue": row["time_value"],
        "timeUnits": row["time_units"],
        "limit": row["award_limit"],
        "unique": int(row["is_unique"]),
        "created": row["created_at"].isoformat(),
        "imageUrl": image_url(row, base_url),
        "type": row["type"],
        "archived": row["archived"],
    }
    for level in ("system", "issuer", "program"):
        if row[level] is not None:
            shown[level] = organization(row[level], base_url)
    shown.update(
        {
            "criteriaUrl": row["criteria_url"],
            "criteria": [
                {
                    "id": item["id"],
                    "description": item["description"],
                    "required": int(item["required"]),
                    "note": item["note"],
                }
                for item in row["criteria"]
            ],
            "alignments": row["alignments"],
            "evidenceType": row["evidence_type"],
            "categories": row["categories"],
            "tags": row["tags"],
            "credential": row["credential"],
        }
    )
    return shown


def location(row: Mapping[str, Any], base_url: str, *, public: bool = False) -> str:
    """The badge's URL at its own level (`/systems/s[/issuers/i[/programs/p]]/badges/b`)."""
    parts = [base_url, "/public" if public else "", f"/systems/{row['system']['slug']}"]
    if row["issuer"] is not None:
        parts.append(f"/issuers/{row['issuer']['slug']}")
    if row["program"] is not None:
        parts.append(f"/programs/{row['program']['slug']}")
    parts.append(f"/badges/{row['slug']}")
    return "".join(parts)
