"""Systems and API consumers as responses show them."""

from __future__ import annotations

from typing import Any

import asyncpg


def system(row: asyncpg.Record) -> dict[str, Any]:
    # BadgeKit's Systems.toResponse drops `description`; Plaudit returns it.
    return {
        "id": row["id"],
        "slug": row["slug"],
        "url": row["url"],
        "name": row["name"],
        "description": row["description"],
        "email": row["email"],
        "imageUrl": row["image_url"],
        "issuers": [],
    }


def consumer(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "apiKey": row["api_key"],
        "description": row["description"],
        "createdAt": row["created_at"].isoformat(),
    }
