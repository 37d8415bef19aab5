"""The issuer's statements on real Postgres: the rules its handlers' unit tests take from an
in-memory repository (tests/unit/issuer/fakes.py) hold here. The purge runs as the service runs
it: through the event dispatcher, with the real Deps. (Claiming and settling attempts are the
scheduler's, tested in test_scheduler.py.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.issuer import handlers
from services.issuer.deps import Deps, make_deps
from services.issuer.repository.credentials import Credentials
from shared import inbox
from shared.config import Settings
from shared.envelope import Envelope
from shared.event_dispatch import EventDispatcher
from shared.messages.credentials import CancelCredential
from shared.messages.events import SystemDeleted
from shared.messages.fields import Page

pytestmark = pytest.mark.integration

SYSTEM_ID = 7
OTHER_SYSTEM_ID = 8


@pytest.fixture
def events(settings: Settings, issuer_pool: asyncpg.Pool) -> EventDispatcher[Deps]:
    return EventDispatcher(issuer_pool, make_deps(settings, issuer_pool), handlers.EVENT_HANDLERS)


async def insert(
    pool: asyncpg.Pool,
    *,
    reference: str = "ref-1",
    system_id: int = SYSTEM_ID,
    award_uid: uuid.UUID | None = None,
) -> tuple[bool, dict[str, Any]]:
    async with pool.acquire() as conn:
        return await Credentials(conn).insert(
            credential_id=uuid.uuid4(),
            system_id=system_id,
            system="chicago",
            reference=reference,
            kind="OCA",
            award_uid=award_uid,
            body={"holderOcId": "ada.edu", "issuerReferenceId": reference},
            body_hash="h",
            correlation_id="c",
        )


async def set_state(pool: asyncpg.Pool, credential_id: uuid.UUID, **columns: Any) -> None:
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(columns, start=2))
    await pool.execute(
        f"UPDATE credentials SET {assignments} WHERE id = $1", credential_id, *columns.values()
    )


async def status_of(pool: asyncpg.Pool, credential_id: uuid.UUID) -> str:
    status: str = await pool.fetchval("SELECT status FROM credentials WHERE id = $1", credential_id)
    return status


class TestInsert:
    async def test_a_reference_the_system_used_before_answers_the_existing_credential(
        self, issuer_pool: asyncpg.Pool
    ) -> None:
        created, first = await insert(issuer_pool)

        again, existing = await insert(issuer_pool)

        assert (created, again) == (True, False)
        assert existing["id"] == first["id"]
        assert await issuer_pool.fetchval("SELECT count(*) FROM credentials") == 1

    async def test_another_system_may_use_the_same_reference(
        self, issuer_pool: asyncpg.Pool
    ) -> None:
        await insert(issuer_pool)

        created, _ = await insert(issuer_pool, system_id=OTHER_SYSTEM_ID)

        assert created

    async def test_an_award_gets_one_credential_whatever_the_reference(
        self, issuer_pool: asyncpg.Pool
    ) -> None:
        award = uuid.uuid4()
        _, first = await insert(issuer_pool, award_uid=award, reference="plaudit:a")

        created, existing = await insert(issuer_pool, award_uid=award, reference="plaudit:b")

        assert not created
        assert existing["id"] == first["id"]


class TestListing:
    async def test_a_page_of_the_systems_credentials_of_a_status_and_their_total(
        self, issuer_pool: asyncpg.Pool
    ) -> None:
        failed = [(await insert(issuer_pool, reference=f"r{i}"))[1]["id"] for i in range(3)]
        for minutes, credential_id in enumerate(failed):
            created_at = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=minutes)
            await set_state(issuer_pool, credential_id, status="failed", created_at=created_at)
        await insert(issuer_pool, reference="pending")
        await insert(issuer_pool, system_id=OTHER_SYSTEM_ID, reference="theirs")

        async with issuer_pool.acquire() as conn:
            rows, total = await Credentials(conn).listing(
                SYSTEM_ID, "failed", Page(page=2, count=2)
            )

        assert total == 3
        assert [row["id"] for row in rows] == failed[2:]


class TestRetry:
    async def test_only_a_failed_credential_is_pending_again_its_schedule_restarted(
        self, issuer_pool: asyncpg.Pool
    ) -> None:
        _, failed = await insert(issuer_pool, reference="failed")
        await set_state(issuer_pool, failed["id"], status="failed", schedule_step=4, error="{}")
        _, issued = await insert(issuer_pool, reference="issued")
        await set_state(issuer_pool, issued["id"], status="issued")

        async with issuer_pool.acquire() as conn:
            repo = Credentials(conn)
            retried = await repo.retry(SYSTEM_ID, failed["id"])
            assert await repo.retry(SYSTEM_ID, issued["id"]) is None
            assert await repo.retry(OTHER_SYSTEM_ID, failed["id"]) is None

        assert retried is not None
        assert (retried["status"], retried["schedule_step"], retried["error"]) == (
            "pending",
            0,
            None,
        )

    @pytest.mark.parametrize(("refused", "unpinned"), [(2, True), (1, False)])
    async def test_the_key_is_unpinned_only_when_every_attempt_was_refused(
        self, issuer_pool: asyncpg.Pool, refused: int, unpinned: bool
    ) -> None:
        _, row = await insert(issuer_pool)
        await set_state(
            issuer_pool,
            row["id"],
            status="failed",
            attempts=2,
            refused=refused,
            key_ciphertext="old",
            key_fingerprint="f-old",
        )

        async with issuer_pool.acquire() as conn:
            retried = await Credentials(conn).retry(SYSTEM_ID, row["id"])

        assert retried is not None
        assert (retried["key_ciphertext"] is None) is unpinned


class TestCancel:
    @pytest.mark.parametrize(
        ("status", "after"),
        [("pending", "cancelled"), ("failed", "cancelled"), ("issued", "issued")],
    )
    async def test_a_credential_not_issued_yet_never_will_be(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps], status: str, after: str
    ) -> None:
        _, row = await insert(issuer_pool)
        await set_state(issuer_pool, row["id"], status=status)
        cancel = CancelCredential(credential_id=row["id"])

        await events.handle(Envelope.wrap(cancel, correlation_id="c", system_id=SYSTEM_ID))

        assert await status_of(issuer_pool, row["id"]) == after


class TestPurgeSystem:
    async def test_the_systems_rows_go_and_a_redelivered_deletion_is_skipped(
        self, issuer_pool: asyncpg.Pool, events: EventDispatcher[Deps]
    ) -> None:
        await insert(issuer_pool)
        _, theirs = await insert(issuer_pool, system_id=OTHER_SYSTEM_ID)
        async with issuer_pool.acquire() as conn:
            await Credentials(conn).set_key(SYSTEM_ID, "ciphertext", "fingerprint", "1234")
            earlier = CancelCredential(credential_id=uuid.uuid4())
            await inbox.record_event(
                conn, Envelope.wrap(earlier, correlation_id="c", system_id=SYSTEM_ID)
            )
        deletion = Envelope.wrap(
            SystemDeleted(system="chicago"), correlation_id="c", system_id=SYSTEM_ID
        )

        assert await events.handle(deletion)

        remaining = await issuer_pool.fetch("SELECT id FROM credentials")
        assert [row["id"] for row in remaining] == [theirs["id"]]
        assert await issuer_pool.fetchval("SELECT count(*) FROM api_keys") == 0
        kept = await issuer_pool.fetch("SELECT message_id FROM inbox")
        assert [row["message_id"] for row in kept] == [deletion.message_id]
        assert not await events.handle(deletion)


async def test_two_schedulers_claiming_at_once_never_take_one_credential(
    issuer_pool: asyncpg.Pool,
) -> None:
    added = {(await insert(issuer_pool, reference=f"ref-{n}"))[1]["id"] for n in range(10)}
    # The second claims while the first's claim is not committed yet.
    async with (
        issuer_pool.acquire() as first,
        issuer_pool.acquire() as second,
        first.transaction(),
        second.transaction(),
    ):
        mine = await Credentials(first).claim_due(6, 30.0, None)
        theirs = await Credentials(second).claim_due(6, 30.0, None)
    assert len(mine) == 6
    assert {row["id"] for row in mine}.isdisjoint({row["id"] for row in theirs})
    assert {row["id"] for row in mine} | {row["id"] for row in theirs} == added


async def test_claims_racing_commits_never_take_one_credential_twice(
    issuer_pool: asyncpg.Pool,
) -> None:
    """Schedulers that claim and commit at once, as those of several processes do."""
    for n in range(400):
        await insert(issuer_pool, reference=f"ref-{n}")
    claimed: list[uuid.UUID] = []

    async def claimer() -> None:
        while True:
            async with issuer_pool.acquire() as conn:
                rows = await Credentials(conn).claim_due(8, 30.0, None)
            if not rows:
                return
            claimed.extend(row["id"] for row in rows)

    await asyncio.gather(*(claimer() for _ in range(8)))
    assert len(claimed) == len(set(claimed)) == 400
