"""The statements of imports on real Postgres: chunks stored once, repeats marked case aside,
problems kept in row order, outcomes recorded once with the counts, and a running import held
by one runner at a time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.badges.repository import Repository
from services.badges.repository.imports import Outcome, StoredRow
from services.badges.repository.scopes import Place
from shared.db import Connection
from tests.integration.badges.test_repository import add_badge

pytestmark = pytest.mark.integration

OPTIONS = {"dry_run": False, "duplicates": "skip", "notify": True}


@pytest.fixture
async def conn(badges_pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    async with badges_pool.acquire() as acquired:
        yield acquired


@pytest.fixture
def repo(conn: Connection) -> Repository:
    return Repository(conn)


@pytest.fixture
async def place(repo: Repository) -> Place:
    fields = {"slug": "chicago", "name": "Chicago", "url": "https://chicago.example.org"}
    system_id = await repo.organizations.insert("systems", {}, fields)
    return Place(system_id, "chicago")


def valid(row: int, email: str) -> StoredRow:
    return StoredRow(row, email, {"email": email}, None)


def invalid(row: int, email: str) -> StoredRow:
    problem = {"row": row, "column": "email", "value": email, "message": "Invalid email"}
    return StoredRow(row, email, None, [problem])


async def new_import(repo: Repository, place: Place) -> uuid.UUID:
    badge_id = await add_badge(repo, place)
    job = await repo.imports.create(uuid.uuid4(), place.system_id, badge_id, OPTIONS, "corr")
    assert job["badge"] == "reader"
    assert job["state"] == "validating"
    import_id: uuid.UUID = job["id"]
    return import_id


class TestUpload:
    async def test_a_chunk_sent_again_adds_nothing(self, repo: Repository, place: Place) -> None:
        import_id = await new_import(repo, place)
        chunk = [valid(1, "a@example.org"), invalid(2, "nope")]
        await repo.imports.add_rows(import_id, chunk)
        await repo.imports.add_rows(import_id, chunk)

        assert await repo.imports.counts(import_id) == (2, 1)

    async def test_repeats_are_marked_case_aside_and_problems_kept_in_order(
        self, repo: Repository, place: Place
    ) -> None:
        import_id = await new_import(repo, place)
        await repo.imports.add_rows(
            import_id,
            [
                invalid(3, "x"),
                valid(1, "a@example.org"),
                invalid(2, "y"),
                valid(4, "A@Example.org"),
            ],
        )
        await repo.imports.mark_repeats(import_id)

        pending = await repo.imports.pending_rows(import_id, 10)
        assert [(row["row_number"], row["repeats"]) for row in pending] == [
            (1, None),
            (2, None),
            (3, None),
            (4, 1),
        ]
        problems = await repo.imports.first_problems(import_id, 1)
        assert [problem["row"] for problem in problems] == [2]

    async def test_rows_come_only_while_uploading(self, repo: Repository, place: Place) -> None:
        import_id = await new_import(repo, place)
        await repo.imports.set_validated(import_id, "running", 0, 0, [])
        await repo.imports.add_rows(import_id, [valid(1, "a@example.org")])

        assert await repo.imports.counts(import_id) == (0, 0)


class TestRun:
    async def test_outcomes_are_recorded_once_with_the_counts(
        self, repo: Repository, place: Place
    ) -> None:
        import_id = await new_import(repo, place)
        await repo.imports.add_rows(
            import_id, [valid(1, "a@example.org"), valid(2, "b@example.org"), invalid(3, "x")]
        )
        await repo.imports.set_validated(import_id, "running", 3, 1, [])
        outcomes = [
            Outcome(1, "awarded", slug="s1"),
            Outcome(2, "skipped", error="Already holds the badge"),
            Outcome(3, "failed", error="email: Invalid email"),
        ]
        await repo.imports.record(import_id, outcomes)
        await repo.imports.record(import_id, outcomes)  # a batch run again counts nothing

        job = await repo.imports.get(place.system_id, import_id)
        assert job is not None
        assert (job["done"], job["awarded"], job["skipped"], job["failed"]) == (3, 1, 1, 1)
        assert await repo.imports.pending_rows(import_id, 10) == []
        results = await repo.imports.results(import_id, 1, 10)
        assert [(row["row_number"], row["outcome"]) for row in results] == [
            (2, "skipped"),
            (3, "failed"),
        ]

    async def test_a_running_import_is_held_by_one_runner_at_a_time(
        self, badges_pool: asyncpg.Pool, repo: Repository, place: Place
    ) -> None:
        import_id = await new_import(repo, place)
        await repo.imports.set_validated(import_id, "running", 0, 0, [])
        async with badges_pool.acquire() as first, first.transaction():
            taken = await Repository(first).imports.take_running()
            assert taken is not None
            assert taken["id"] == import_id
            async with badges_pool.acquire() as second, second.transaction():
                assert await Repository(second).imports.take_running() is None
