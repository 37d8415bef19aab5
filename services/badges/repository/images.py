"""SQL of uploaded images."""

from __future__ import annotations

import secrets
from typing import Any

from services.badges.repository.common import Statements
from shared.messages.common import ImageUpload


class Images(Statements):
    __slots__ = ()

    async def insert(self, system_id: int, upload: ImageUpload) -> int:
        image_id: int = await self._conn.fetchval(
            "INSERT INTO images (slug, system_id, mimetype, data)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            secrets.token_hex(16),
            system_id,
            upload.content_type,
            upload.data,
        )
        return image_id

    async def get(self, slug: str) -> dict[str, Any] | None:
        row = await self._conn.fetchrow("SELECT mimetype, data FROM images WHERE slug = $1", slug)
        return dict(row) if row is not None else None
