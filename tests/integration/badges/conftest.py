"""The badges schema on real Postgres: each test gets one of its own, migrated as the service
migrates it at start, and dropped after."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.badges.config import MIGRATIONS
from shared import db
from shared.config import Settings


@pytest.fixture
async def badges_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    schema = f"b_{uuid.uuid4().hex[:10]}"
    await db.migrate(settings.database_url, schema, [MIGRATIONS])
    pool = await db.create_pool(settings.database_url, schema, min_size=1, max_size=4)
    yield pool
    await pool.close()
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()
