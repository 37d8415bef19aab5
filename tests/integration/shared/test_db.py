from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from shared import db
from shared.config import Settings

pytestmark = pytest.mark.integration


async def versions(dsn: str, schema: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f'SELECT version FROM "{schema}".schema_migrations ORDER BY version'
        )
        return [row["version"] for row in rows]
    finally:
        await conn.close()


# The messaging tables every service keeps, in the order they are applied.
SHARED = [f"shared/{path.stem}" for path in sorted(db.SHARED_MIGRATIONS.glob("*.sql"))]


async def test_applies_shared_then_own_migrations_once(
    settings: Settings, migrations: Path
) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    first = await db.migrate(settings.database_url, schema, [migrations])
    assert first == [*SHARED, "testsvc/0001_notes"]
    assert await db.migrate(settings.database_url, schema, [migrations]) == []
    (migrations / "0002_more.sql").write_text("ALTER TABLE notes ADD COLUMN extra text;")
    assert await db.migrate(settings.database_url, schema, [migrations]) == ["testsvc/0002_more"]
    assert await versions(settings.database_url, schema) == [
        *SHARED,
        "testsvc/0001_notes",
        "testsvc/0002_more",
    ]


async def test_concurrent_starts_migrate_once(settings: Settings, migrations: Path) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    results = await asyncio.gather(
        *(db.migrate(settings.database_url, schema, [migrations]) for _ in range(4))
    )
    assert sorted(len(applied) for applied in results) == [0, 0, 0, len(SHARED) + 1]
    assert len(await versions(settings.database_url, schema)) == len(SHARED) + 1


async def test_a_failing_migration_leaves_nothing_half_applied(
    settings: Settings, migrations: Path
) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    (migrations / "0002_broken.sql").write_text("CREATE TABLE fine (id int); SELECT nonsense;")
    with pytest.raises(asyncpg.PostgresError):
        await db.migrate(settings.database_url, schema, [migrations])
    conn = await asyncpg.connect(settings.database_url)
    try:
        exists = await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    finally:
        await conn.close()
    assert exists == 0


async def test_pool_is_bound_to_the_schema(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO notes (text) VALUES ('hello')")
    assert await pool.fetchval("SELECT text FROM notes") == "hello"
    assert await pool.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}
