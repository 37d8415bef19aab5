from __future__ import annotations

from typing import Any


def listing(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """A page of items and the total, which the gateway renders with BadgeKit's `pageData`."""
    return {"items": items, "total": total}
