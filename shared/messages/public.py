"""The public, unauthenticated documents under `/public/` (served by the badges service)."""

from __future__ import annotations

from shared.messages.base import Query


class GetImage(Query):
    TYPE = "badges.get_image"
    slug: str
