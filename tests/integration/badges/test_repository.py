"""The badges service's statements on real Postgres: the rules its handlers' unit tests take
from an in-memory repository (tests/unit/badges/fakes.py) hold here: an award refused by a limit
or a unique badge, claim codes used once, revocation and the credential it cancels, the
issuer's outcomes, the recipient's badges, scopes, Open Campus identifiers, savepoints."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from services.badges.backfill import OpenBadgeBackfill
from services.badges.domain.credentials import IDENTIFIER_INDEX
from services.badges.repository import Repository, instances
from services.badges.repository.instances import NewAward, NewCredential
from services.badges.repository.scopes import Place
from shared.db import Connection
from shared.errors import NotFound
from shared.messages.common import Scope
from shared.outbox import OutboxRows

pytestmark = pytest.mark.integration

ADA = "ada@example.org"
OCA = {"kind": "OCA", "achievementType": "Badge"}


class HandedRows:
    """Where the import runner and the backfill hand their committed outbox rows (a process's
    relay publishes them)."""

    def __init__(self) -> None:
        self.rows: OutboxRows = []
        self.backlog = 0

    def relay_soon(self, rows: OutboxRows) -> None:
        self.rows.extend(rows)

    def types(self) -> list[str]:
        return [event.routing_key for _, event in self.rows]


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


async def add_badge(repo: Repository, place: Place, slug: str = "reader", **fields: Any) -> int:
    return await repo.badges.insert(
        place,
        {
            "slug": slug,
            "name": slug.title(),
            "earner_description": "You read.",
            "consumer_description": "The earner read.",
            "criteria_url": "https://example.org/criteria",
            "unique": False,
            **fields,
        },
    )


def award(
    place: Place,
    badge_id: int,
    email: str = ADA,
    *,
    unique: bool = False,
    slug: str | None = None,
    credential: bool = False,
    narrative: str | None = None,
) -> NewAward:
    return NewAward(
        uid=uuid.uuid4(),
        slug=slug or uuid.uuid4().hex,
        badge_id=badge_id,
        system_id=place.system_id,
        email=email,
        salt="salt",
        issued_on=datetime(2024, 5, 1, 12, tzinfo=UTC),
        expires=None,
        claim_code=None,
        comment=None,
        evidence_url=None,
        unique=unique,
        credential=NewCredential(uuid.uuid4(), "ada.edu", None, "Ada") if credential else None,
        narrative=narrative,
    )


class TestInsert:
    async def test_a_limit_counts_active_awards(self, repo: Repository, place: Place) -> None:
        badge_id = await add_badge(repo, place)
        assert await repo.instances.insert(award(place, badge_id, ADA), 1) is True
        assert await repo.instances.insert(award(place, badge_id, "bob@example.org"), 1) is False
        assert await repo.instances.revoke_newest(badge_id, ADA) is not None
        assert await repo.instances.insert(award(place, badge_id, "bob@example.org"), 1) is True

    async def test_a_unique_badge_is_held_once_case_aside(
        self, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        assert await repo.instances.insert(award(place, badge_id, ADA, unique=True), None)
        again = award(place, badge_id, "ADA@example.org", unique=True)
        assert await repo.instances.insert(again, None) is False

    async def test_awards_made_before_the_badge_was_unique_count(
        self, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        assert await repo.instances.insert(award(place, badge_id, ADA), None)
        assert await repo.instances.insert(award(place, badge_id, ADA, unique=True), None) is False

    async def test_a_taken_slug_raises(self, repo: Repository, place: Place) -> None:
        badge_id = await add_badge(repo, place)
        await repo.instances.insert(award(place, badge_id, ADA, slug="ada-reads"), None)
        with pytest.raises(asyncpg.UniqueViolationError):
            await repo.instances.insert(
                award(place, badge_id, "bob@example.org", slug="ada-reads"), None
            )

    async def test_the_statement_committed_at_once_takes_insert_args(
        self, conn: Connection, repo: Repository, place: Place
    ) -> None:
        """What `award_badge` hands `BatchContext.commit_at_once`: INSERT with `insert_args` of
        a batch's awards, which returns the key of each it inserted, and reads back as each
        award's planned row."""
        badge_id = await add_badge(repo, place)
        ada = award(place, badge_id, ADA, credential=True)
        bob = award(place, badge_id, "bob@example.org")
        keys = await conn.fetchval(
            f"WITH change AS ({instances.INSERT}) SELECT array_agg(key) FROM change",
            *instances.insert_args([ada, bob], None),
        )
        assert sorted(keys) == sorted([ada.uid, bob.uid])
        for new in (ada, bob):
            row = await conn.fetchrow(
                f"SELECT {instances.COLUMNS} FROM instances WHERE uid = $1", new.uid
            )
            assert {key: value for key, value in dict(row).items() if key != "id"} == new.row()

    async def test_a_narrative_is_written_by_the_one_statement_and_shown_by_the_assertion(
        self, repo: Repository, place: Place
    ) -> None:
        """One award (with a limit to count) and many at once go through the same INSERT."""
        badge_id = await add_badge(repo, place)
        told = 'Built "Ada", a robot, from scrap; <b>café</b>\nand wrote it up.'
        alone = award(place, badge_id, ADA, narrative=told)
        assert await repo.instances.insert(alone, 10) is True
        many = [
            award(place, badge_id, "bob@example.org", narrative="Read *twelve* books."),
            award(place, badge_id, "cy@example.org"),
        ]
        assert await repo.instances.insert_many(many) == {new.uid for new in many}

        shown = [await repo.instances.assertion(new.slug) for new in (alone, *many)]
        assert [row["narrative"] if row else "missing" for row in shown] == [
            told,
            "Read *twelve* books.",
            None,
        ]

    async def test_a_unique_badge_twice_in_one_statement_is_inserted_once(
        self, conn: Connection, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        first = award(place, badge_id, ADA, unique=True)
        second = award(place, badge_id, "ADA@example.org", unique=True)
        keys = await conn.fetchval(
            f"WITH change AS ({instances.INSERT}) SELECT array_agg(key) FROM change",
            *instances.insert_args([first, second], None),
        )
        assert keys == [first.uid]


class TestClaimCodes:
    async def test_locked_codes_hold_off_a_claim_until_the_transaction_ends(
        self, badges_pool: asyncpg.Pool, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        await repo.claim_codes.insert(badge_id, "read", claimed=False, multiuse=True, email=None)
        async with badges_pool.acquire() as other, other.transaction():
            await Repository(other).claim_codes.lock([(badge_id, "read"), (badge_id, "nope")])
            async with badges_pool.acquire() as third, third.transaction():
                await third.execute("SET LOCAL lock_timeout = '100ms'")
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await Repository(third).claim_codes.claim(badge_id, "read", ADA)
        assert await repo.claim_codes.claim(badge_id, "read", ADA) is not None

    async def test_a_single_use_code_is_claimed_once(self, repo: Repository, place: Place) -> None:
        badge_id = await add_badge(repo, place)
        await repo.claim_codes.insert(badge_id, "read", claimed=False, multiuse=False, email=None)
        claimed = await repo.claim_codes.claim(badge_id, "read", ADA)
        assert claimed is not None
        assert (claimed["claimed"], claimed["email"]) == (True, ADA)
        assert await repo.claim_codes.claim(badge_id, "read", "bob@example.org") is None
        assert await repo.claim_codes.claim(badge_id, "nope", ADA) is None

    async def test_a_multi_use_code_is_claimed_again_keeping_its_email(
        self, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        await repo.claim_codes.insert(badge_id, "read", claimed=True, multiuse=True, email=ADA)
        claimed = await repo.claim_codes.claim(badge_id, "read", None)
        assert claimed is not None
        assert claimed["email"] == ADA

    async def test_a_code_the_badge_has_is_not_inserted_again(
        self, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        fields: dict[str, Any] = {"claimed": False, "multiuse": False, "email": None}
        assert await repo.claim_codes.insert(badge_id, "read", **fields) is not None
        assert await repo.claim_codes.insert(badge_id, "read", **fields) is None


class TestRevokeNewest:
    @pytest.mark.parametrize(
        ("status", "after", "cancelled"),
        [
            ("pending", "cancelled", True),
            ("failed", "cancelled", True),
            ("issued", "issued", False),
        ],
    )
    async def test_the_newest_award_and_a_credential_not_issued(
        self,
        conn: Connection,
        repo: Repository,
        place: Place,
        status: str,
        after: str,
        cancelled: bool,
    ) -> None:
        badge_id = await add_badge(repo, place)
        await repo.instances.insert(award(place, badge_id, ADA), None)
        newest = award(place, badge_id, "ADA@example.org", credential=True)
        await repo.instances.insert(newest, None)
        await conn.execute(
            "UPDATE instances SET credential_status = $1 WHERE slug = $2", status, newest.slug
        )

        row = await repo.instances.revoke_newest(badge_id, ADA)

        assert row is not None
        assert (row["slug"], row["credential_status"]) == (newest.slug, after)
        assert row["cancelled_credential"] is cancelled

    async def test_no_active_award_revokes_nothing(self, repo: Repository, place: Place) -> None:
        badge_id = await add_badge(repo, place)
        assert await repo.instances.revoke_newest(badge_id, ADA) is None


class TestCredentialOutcome:
    @pytest.mark.parametrize(
        ("before", "outcome", "applied", "after"),
        [
            ("pending", "failed", True, "failed"),
            ("pending", "issued", True, "issued"),
            ("cancelled", "issued", True, "issued"),
            ("issued", "failed", False, "issued"),
            ("cancelled", "failed", False, "cancelled"),
        ],
    )
    async def test_issued_always_wins_failed_only_replaces_pending_or_failed(
        self,
        conn: Connection,
        repo: Repository,
        place: Place,
        before: str,
        outcome: str,
        applied: bool,
        after: str,
    ) -> None:
        badge_id = await add_badge(repo, place)
        new = award(place, badge_id, ADA, credential=True)
        await repo.instances.insert(new, None)
        assert new.credential is not None
        credential_id = str(new.credential.id)
        await conn.execute("UPDATE instances SET credential_status = $1", before)

        done = await repo.instances.record_credential_outcome(
            credential_id, place.system_id, outcome, None
        )

        assert done is applied
        status = await conn.fetchval("SELECT credential_status FROM instances")
        assert status == after

    async def test_another_systems_outcome_changes_nothing(
        self, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        new = award(place, badge_id, ADA, credential=True)
        await repo.instances.insert(new, None)
        assert new.credential is not None
        credential_id = str(new.credential.id)
        assert not await repo.instances.record_credential_outcome(
            credential_id, place.system_id + 1, "issued", "vc"
        )
        assert await repo.instances.holds_credential(place.system_id, credential_id)
        assert not await repo.instances.holds_credential(place.system_id + 1, credential_id)


async def test_a_recipient_holds_the_badges_awarded_and_not_revoked_case_aside(
    repo: Repository, place: Place
) -> None:
    reader = await add_badge(repo, place, "reader")
    writer = await add_badge(repo, place, "writer")
    await repo.instances.insert(award(place, reader, "Ada@Example.org"), None)
    await repo.instances.insert(award(place, writer, ADA), None)
    await repo.instances.revoke_newest(writer, ADA)

    assert await repo.milestones.held_badges(place.system_id, ADA) == {reader}


@pytest.mark.parametrize(
    ("scope", "missing"),
    [
        (Scope(system="springfield"), "system"),
        (Scope(system="chicago", issuer="museum"), "issuer"),
        (Scope(system="chicago", issuer="library", program="winter"), "program"),
    ],
)
async def test_a_scope_resolves_or_names_its_first_missing_level(
    repo: Repository, place: Place, scope: Scope, missing: str
) -> None:
    fields = {"slug": "library", "name": "Library", "url": "https://library.example.org"}
    issuer_id = await repo.organizations.insert("issuers", {"system_id": place.system_id}, fields)
    resolved = await repo.scopes.resolve(Scope(system="chicago", issuer="library"))
    assert (resolved.system_id, resolved.issuer_id) == (place.system_id, issuer_id)
    with pytest.raises(NotFound, match=f"Could not find {missing} field"):
        await repo.scopes.resolve(scope)


class TestOpenCampusIdentifiers:
    async def test_two_credential_badges_never_share_one(
        self, repo: Repository, place: Place
    ) -> None:
        stem = "r" * 50
        await add_badge(repo, place, f"{stem}-one", credential=OCA)
        with pytest.raises(asyncpg.UniqueViolationError) as taken:
            await add_badge(repo, place, f"{stem}-two", credential=OCA)
        assert taken.value.constraint_name == IDENTIFIER_INDEX

    async def test_a_taken_slug_is_another_constraint(self, repo: Repository, place: Place) -> None:
        await add_badge(repo, place, "reader")
        with pytest.raises(asyncpg.UniqueViolationError) as taken:
            await add_badge(repo, place, "reader")
        assert taken.value.constraint_name != IDENTIFIER_INDEX

    async def test_a_badge_given_a_credential_is_checked_too(
        self, repo: Repository, place: Place
    ) -> None:
        stem = "r" * 50
        await add_badge(repo, place, f"{stem}-one", credential=OCA)
        other = await add_badge(repo, place, f"{stem}-two")
        with pytest.raises(asyncpg.UniqueViolationError) as taken:
            await repo.badges.update(other, {"credential": OCA})
        assert taken.value.constraint_name == IDENTIFIER_INDEX


async def test_a_savepoint_undoes_only_what_failed_in_it(
    conn: Connection, repo: Repository, place: Place
) -> None:
    badge_id = await add_badge(repo, place)

    async def award_then_fail() -> None:
        async with repo.savepoint():
            await repo.instances.insert(award(place, badge_id, "bob@example.org"), None)
            await repo.scopes.resolve(Scope(system="springfield"))

    async with conn.transaction():
        await repo.instances.insert(award(place, badge_id, ADA), None)
        with pytest.raises(NotFound):
            await award_then_fail()
        await repo.instances.insert(award(place, badge_id, "cy@example.org"), None)
    rows, _ = await repo.instances.of_badge(badge_id, None)
    assert sorted(row["email"] for row in rows) == [ADA, "cy@example.org"]


async def test_a_badge_knows_whether_it_supports_a_milestone(
    repo: Repository, place: Place
) -> None:
    """The flag an award chooses its commit mode by, kept by the milestone_badges trigger."""
    primary = await add_badge(repo, place, "bookworm")
    support = await add_badge(repo, place, "reader")
    other = await add_badge(repo, place, "writer")

    async def supports(badge_id: int) -> bool:
        return bool((await repo.badges.get(badge_id))["supports_milestone"])

    fields = {"primary_badge_id": primary, "number_required": 1, "action": "issue"}
    first = await repo.milestones.insert(place.system_id, fields)
    second = await repo.milestones.insert(place.system_id, fields)
    assert not await supports(support)
    await repo.milestones.add_support(first, [support, other])
    await repo.milestones.add_support(second, [support])
    assert await supports(support)
    assert await supports(other)
    await repo.milestones.remove_support(first, support)
    assert await supports(support)  # the second milestone still counts it
    await repo.milestones.replace_support(first, [])
    assert not await supports(other)
    await repo.milestones.delete(second)
    assert not await supports(support)
    assert not await supports(primary)


class TestOpenBadgeBackfill:
    async def test_marked_awards_are_taken_once_oldest_first_and_new_ones_are_never_marked(
        self, conn: Connection, repo: Repository, place: Place
    ) -> None:
        badge_id = await add_badge(repo, place)
        awards = [
            award(place, badge_id, f"{name}@example.org", narrative=f"{name} wrote it")
            for name in ("a", "b", "c")
        ]
        for new in awards:
            await repo.instances.insert(new, None)
        assert await repo.instances.count_open_badge_pending() == 0
        # As the migration marks the awards made before credentials existed.
        await conn.execute("UPDATE instances SET open_badge_pending = true")
        await repo.instances.revoke_newest(badge_id, "c@example.org")
        first = await repo.instances.take_open_badge_pending(2)
        rest = await repo.instances.take_open_badge_pending(2)
        assert [row["slug"] for row in first + rest] == [new.slug for new in awards]
        # What each award's `badge.awarded` would have carried, its narrative included.
        assert [row["narrative"] for row in first + rest] == [new.narrative for new in awards]
        assert (rest[0]["salt"], rest[0]["system_id"]) == ("salt", place.system_id)
        assert rest[0]["revoked_at"] is not None
        assert await repo.instances.take_open_badge_pending(2) == []
        assert await repo.instances.count_open_badge_pending() == 0

    async def test_a_chunk_announces_each_award_as_its_own_event_would_have(
        self, badges_pool: asyncpg.Pool, conn: Connection, repo: Repository, place: Place
    ) -> None:
        """`OpenBadgeBackfill.chunk` over the rows taken here: each award's sign command holds
        its `badge.awarded`, its narrative included."""
        badge_id = await add_badge(repo, place)
        told = award(place, badge_id, ADA, narrative="Read *twelve* books.")
        plain = award(place, badge_id, "bob@example.org")
        await repo.instances.insert_many([told, plain])
        await conn.execute("UPDATE instances SET open_badge_pending = true")
        relay = HandedRows()

        assert await OpenBadgeBackfill(badges_pool, "https://b.example.org").chunk(relay) == 2

        commands = [orjson.loads(event.body)["data"] for _, event in relay.rows]
        assert {data["awarded"]["uid"]: data["awarded"]["narrative"] for data in commands} == {
            told.slug: "Read *twelve* books.",
            plain.slug: None,
        }
