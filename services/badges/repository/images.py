"""SQL of uploaded images."""

from __future__ import annotations

import secrets
from typing import Any

from shared.db import Connection
from shared.messages.common import ImageUpload


async def insert(conn: Connection, system_id: int, upload: ImageUpload) -> int:
    image_id: int = await conn.fetchval(
        "INSERT INTO images (slug, system_id, mimetype, data) VALUES ($1, $2, $3, $4) RETURNING id",
        secrets.token_hex(16),
        system_id,
        upload.content_type,
        upload.data,
    )
    return image_id


async def get(conn: Connection, slug: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT mimetype, data FROM images WHERE slug = $1", slug)
    return dict(row) if row is not None else None
