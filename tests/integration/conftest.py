from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared import db
from shared.bus import Bus
from shared.config import Settings
from tests.support.infra import Isolation, Servers

pytestmark = pytest.mark.integration

NOTES_MIGRATION = (
    "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY, text text UNIQUE, key uuid);"
)


@pytest.fixture
def settings(isolation: Isolation) -> Settings:
    return isolation.settings()


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A service's own migrations for the tests: one table of notes."""
    directory = tmp_path / "testsvc" / "migrations"
    directory.mkdir(parents=True)
    (directory / "0001_notes.sql").write_text(NOTES_MIGRATION)
    return directory


@pytest.fixture
async def schema(settings: Settings, migrations: Path) -> AsyncIterator[str]:
    """A schema of the test's own, migrated with the shared tables and a `notes` table."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    await db.migrate(settings.database_url, name, [migrations])
    yield name
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def pool(settings: Settings, schema: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(settings.database_url, schema, min_size=1, max_size=4)
    yield created
    await created.close()


@pytest.fixture
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    connected = await Bus.connect(settings.amqp_url, client_name="tests")
    yield connected
    await connected.close()


@pytest.fixture
def own_vhost(servers: Servers) -> Iterator[Isolation]:
    """A database and vhost of the test's own, for tests that drain shared queues."""
    isolated = Isolation(servers).create()
    yield isolated
    isolated.drop()
