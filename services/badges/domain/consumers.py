"""API consumers as responses show them (never their secret)."""

from __future__ import annotations

from typing import Any

import asyncpg


def consumer(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "apiKey": row["api_key"],
        "description": row["description"],
        "createdAt": row["created_at"].isoformat(),
    }
