"""SQL helpers every repository module uses."""

from __future__ import annotations

from shared.messages.fields import Page


def limit_clause(page: Page | None) -> str:
    """`LIMIT/OFFSET` for BadgeKit's `?page=&count=` (integers validated by the gateway)."""
    if page is None:
        return ""
    return f" LIMIT {int(page.count)} OFFSET {(int(page.page) - 1) * int(page.count)}"
