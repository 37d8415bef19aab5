"""The import runner on real Postgres: a batch awards its rows with their outcomes and events in
one transaction, a finished row is never awarded again, a batch that breaks keeps nothing, and
an import whose batches keep breaking fails with its `import.completed`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from services.badges.deps import make_deps
from services.badges.importing import BATCH_ROWS, BatchFailed, ImportRunner
from services.badges.repository import Repository
from services.badges.repository.imports import StoredRow
from services.badges.repository.scopes import Place
from shared.config import Settings
from tests.integration.badges.test_repository import HandedRows, add_badge

pytestmark = pytest.mark.integration


async def running_import(pool: asyncpg.Pool, rows: list[StoredRow], **options: Any) -> uuid.UUID:
    async with pool.acquire() as conn:
        repo = Repository(conn)
        fields = {"slug": "chicago", "name": "Chicago", "url": "https://chicago.example.org"}
        system_id = await repo.organizations.insert("systems", {}, fields)
        badge_id = await add_badge(repo, Place(system_id, "chicago"))
        chosen = {"dry_run": False, "duplicates": "skip", "notify": True, **options}
        job = await repo.imports.create(uuid.uuid4(), system_id, badge_id, chosen, "corr")
        await repo.imports.add_rows(job["id"], rows)
        await repo.imports.set_validated(job["id"], "running", len(rows), 0, [])
        import_id: uuid.UUID = job["id"]
        return import_id


def row(n: int, email: str) -> StoredRow:
    return StoredRow(n, email, {"email": email}, None)


async def state(pool: asyncpg.Pool, import_id: uuid.UUID) -> dict[str, Any]:
    async with pool.acquire() as conn:
        job = await conn.fetchrow("SELECT * FROM imports WHERE id = $1", import_id)
        awards = await conn.fetchval("SELECT count(*) FROM instances")
        outbox = await conn.fetchval("SELECT count(*) FROM outbox")
    assert job is not None
    return {**dict(job), "instances": awards, "outbox": outbox}


async def test_a_batch_awards_its_rows_once_with_their_events(
    badges_pool: asyncpg.Pool, settings: Settings
) -> None:
    import_id = await running_import(
        badges_pool, [row(1, "a@example.org"), row(2, "b@example.org")]
    )
    runner = ImportRunner(badges_pool, make_deps(settings, badges_pool))
    relay = HandedRows()

    assert await runner.batch(relay) is True
    assert await runner.batch(relay) is True  # no row left: completed
    assert await runner.batch(relay) is False

    after = await state(badges_pool, import_id)
    assert (after["state"], after["awarded"], after["instances"]) == ("completed", 2, 2)
    assert relay.types() == ["badge.awarded", "badge.awarded", "import.completed"]
    assert after["outbox"] == 3  # committed with the awards, until the relay publishes them


async def test_two_runners_award_an_import_once(
    badges_pool: asyncpg.Pool, settings: Settings
) -> None:
    """The runners of two processes (PLAUDIT_SCALE=badges=2) at the same import: each batch is
    run by one of them, and every row is awarded once."""
    total = 3 * BATCH_ROWS + 7
    import_id = await running_import(
        badges_pool, [row(n, f"r{n}@example.org") for n in range(1, total + 1)]
    )
    runners = [ImportRunner(badges_pool, make_deps(settings, badges_pool)) for _ in range(2)]
    relay = HandedRows()
    while any(await asyncio.gather(*(runner.batch(relay) for runner in runners))):
        pass

    after = await state(badges_pool, import_id)
    assert (after["state"], after["done"], after["awarded"], after["skipped"]) == (
        "completed",
        total,
        total,
        0,
    )
    assert after["instances"] == total
    assert relay.types().count("badge.awarded") == total
    assert relay.types().count("import.completed") == 1


async def test_a_rows_name_is_kept_with_its_award_for_its_page(
    badges_pool: asyncpg.Pool, settings: Settings
) -> None:
    named = StoredRow(1, "a@example.org", {"email": "a@example.org", "name": "Ada L."}, None)
    await running_import(badges_pool, [named, row(2, "b@example.org")])
    runner = ImportRunner(badges_pool, make_deps(settings, badges_pool))

    await runner.batch(HandedRows())

    names = await badges_pool.fetch("SELECT email, recipient_name FROM instances ORDER BY email")
    assert [(r["email"], r["recipient_name"]) for r in names] == [
        ("a@example.org", "Ada L."),
        ("b@example.org", None),
    ]


@pytest.mark.parametrize("limit", [None, 10], ids=["at-once", "each-in-a-savepoint"])
async def test_a_rows_narrative_is_kept_with_its_award_and_announced(
    badges_pool: asyncpg.Pool, settings: Settings, limit: int | None
) -> None:
    """Both ways a batch is written: one statement for plain awards, each award on its own for
    a badge with a limit."""
    told = 'Built "Ada", a robot; <script>alert(1)</script> café'
    fields = {"email": "a@example.org", "narrative": told}
    await running_import(
        badges_pool, [StoredRow(1, "a@example.org", fields, None), row(2, "b@example.org")]
    )
    if limit is not None:
        await badges_pool.execute("UPDATE badges SET award_limit = $1", limit)
    runner = ImportRunner(badges_pool, make_deps(settings, badges_pool))
    relay = HandedRows()

    await runner.batch(relay)

    stored = await badges_pool.fetch("SELECT email, narrative FROM instances ORDER BY email")
    assert [(r["email"], r["narrative"]) for r in stored] == [
        ("a@example.org", told),
        ("b@example.org", None),
    ]
    announced = {
        data["email"]: data["narrative"]
        for data in (orjson.loads(event.body)["data"] for _, event in relay.rows)
    }
    assert announced == {"a@example.org": told, "b@example.org": None}


async def test_notify_false_asks_the_issuer_to_sign_instead_of_announcing(
    badges_pool: asyncpg.Pool, settings: Settings
) -> None:
    await running_import(badges_pool, [row(1, "a@example.org")], notify=False)
    runner = ImportRunner(badges_pool, make_deps(settings, badges_pool))
    relay = HandedRows()

    await runner.batch(relay)

    assert relay.types() == ["issuer.sign_open_badge_credential"]


async def test_a_batch_that_breaks_keeps_nothing_and_the_import_then_fails(
    badges_pool: asyncpg.Pool, settings: Settings
) -> None:
    broken = StoredRow(2, "b@example.org", {"email": 42}, None)  # no award can be read from it
    import_id = await running_import(badges_pool, [row(1, "a@example.org"), broken])
    runner = ImportRunner(badges_pool, make_deps(settings, badges_pool))
    relay = HandedRows()

    with pytest.raises(BatchFailed):
        await runner.batch(relay)
    kept = await state(badges_pool, import_id)
    assert (kept["state"], kept["done"], kept["instances"], kept["outbox"]) == ("running", 0, 0, 0)

    await runner.fail(relay, import_id)
    failed = await state(badges_pool, import_id)
    assert failed["state"] == "failed"
    assert failed["finished_at"] is not None
    assert relay.types() == ["import.completed"]
