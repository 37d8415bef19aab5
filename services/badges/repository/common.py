"""What every repository module uses: the base of its class of statements, and paging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.db import Connection
from shared.messages.fields import Page


class Statements:
    """A family of statements run on one connection: the caller's, in its transaction if it
    opened one. Built per use (`Repository`), so it holds nothing but the connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _update(
        self, table: str, row_id: int, changes: Mapping[str, Any], columns: Mapping[str, str]
    ) -> None:
        """Set the columns (`columns` maps a field to its column) of the changes given; nothing
        when none of them is changeable. Column names come from `columns`, never the caller."""
        given = [(columns[name], value) for name, value in changes.items() if name in columns]
        if not given:
            return
        assignments = ", ".join(f"{column} = ${i}" for i, (column, _) in enumerate(given, start=2))
        await self._conn.execute(
            f"UPDATE {table} SET {assignments} WHERE id = $1",
            row_id,
            *(value for _, value in given),
        )


def limit_clause(page: Page | None) -> str:
    """`LIMIT/OFFSET` for BadgeKit's `?page=&count=` (integers validated by the gateway)."""
    if page is None:
        return ""
    return f" LIMIT {int(page.count)} OFFSET {(int(page.page) - 1) * int(page.count)}"
