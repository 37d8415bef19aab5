"""What every repository module uses: the base of its class of statements, and paging."""

from __future__ import annotations

from shared.db import Connection
from shared.messages.fields import Page


class Statements:
    """A family of statements run on one connection: the caller's, in its transaction if it
    opened one. Built per use (`Repository`), so it holds nothing but the connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn


def limit_clause(page: Page | None) -> str:
    """`LIMIT/OFFSET` for BadgeKit's `?page=&count=` (integers validated by the gateway)."""
    if page is None:
        return ""
    return f" LIMIT {int(page.count)} OFFSET {(int(page.page) - 1) * int(page.count)}"
