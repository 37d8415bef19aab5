"""The award handlers (services/badges/handlers/instances.py): which commit mode an award
chooses and what it commits, the 409s of a statement that inserted nothing, revocation and its
credential, the listings. Run on an in-memory repository and a Context that records the commit
mode (fakes.py); the statements themselves run on Postgres in tests/integration/badges."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.badges.deps import Deps
from services.badges.handlers import instances as handlers
from services.badges.lookups import shown
from services.badges.repository import instances
from services.badges.repository.instances import NewAward
from shared.errors import Conflict, NotFound
from shared.messages.common import Scope
from shared.messages.instances import (
    AwardBadge,
    AwardFields,
    GetInstance,
    ListInstances,
    ListInstancesByEmail,
    RevokeBadge,
)
from tests.unit.badges.fakes import (
    BASE_URL,
    FakeRepository,
    Row,
    choosing_batch,
    emitted,
    event,
    request_context,
)

ADA = "ada@example.org"
SCOPE = Scope(system="chicago")
OCA = {"kind": "OCA", "achievementType": "Badge"}


@pytest.fixture
def system(repo: FakeRepository) -> Row:
    return repo.add_system("chicago")


def award_badge(**fields: Any) -> AwardBadge:
    return AwardBadge(
        scope=SCOPE, badge="reader", award=AwardFields.model_validate({"email": ADA, **fields})
    )


class TestAwardBadge:
    async def test_the_earners_name_is_kept_with_a_plain_award(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        """For the award's page, which shows it (never the assertion, nor the email)."""
        repo.add_badge(system["id"], "reader")
        cmd = award_badge(name="Ada Lovelace")
        batch = choosing_batch(deps, cmd)

        await handlers.award_badge([cmd], batch)

        [committed] = batch.at_once
        names = committed.args[12]
        assert names == ["Ada Lovelace"]

    async def test_a_plain_award_commits_at_once_with_the_insert_and_its_answer(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        cmd = award_badge(comment="Well read", evidence="https://example.org/essay")
        batch = choosing_batch(deps, cmd)

        [reply] = await handlers.award_badge([cmd], batch)

        [committed] = batch.at_once
        assert batch.began == 0
        assert committed.statement == instances.INSERT
        args = committed.args
        [uid] = args[2]
        planned = NewAward(
            uid=uid,
            slug=reply["slug"],
            badge_id=badge["id"],
            system_id=system["id"],
            email=ADA,
            salt=args[5][0],
            issued_on=args[6][0],
            expires=None,
            claim_code=None,
            comment="Well read",
            evidence_url="https://example.org/essay",
            unique=False,
            credential=None,
        )
        assert args == instances.insert_args([planned], None)
        assert (committed.keys, committed.replies) == ([uid], [reply])
        assert reply == {
            "slug": reply["slug"],
            "email": ADA,
            "expires": None,
            "issuedOn": planned.issued_on.isoformat(),
            "claimCode": None,
            "assertionUrl": f"{BASE_URL}/public/assertions/{reply['slug']}",
            "openBadgeCredentialUrl": f"{BASE_URL}/public/credentials/{reply['slug']}",
            "badge": None,
        }
        # Its event is written by the same statement, so it is emitted before it.
        [[awarded]] = committed.events
        assert (awarded.type, awarded.data["uid"]) == ("badge.awarded", reply["slug"])
        assert repo.ran("instances") == []
        assert batch.each[0].system_id == system["id"]

    async def test_awards_arriving_together_commit_in_one_statement_each_with_its_answer(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        reader = repo.add_badge(system["id"], "reader", is_unique=True)
        cmds = [
            award_badge(email="bob@example.org"),
            award_badge(),
            AwardBadge(scope=SCOPE, badge="missing", award=AwardFields(email=ADA)),
            award_badge(email="cy@example.org"),
        ]
        # The second award is refused by the statement (Ada holds the unique badge meanwhile).
        held = repo.add_award(reader, ADA)
        batch = choosing_batch(deps, *cmds, at_once_returns=[True, False, False, True])

        outcomes = await handlers.award_badge(cmds, batch)

        [committed] = batch.at_once
        assert len(committed.args[0]) == 3  # the unknown badge takes no part
        assert committed.keys[2] is None
        assert [o["email"] for o in (outcomes[0], outcomes[3])] == [
            "bob@example.org",
            "cy@example.org",
        ]
        assert isinstance(outcomes[1], Conflict)
        assert "already been awarded" in str(outcomes[1])
        assert outcomes[1].details == {
            "assertionUrl": f"{BASE_URL}/public/assertions/{held['slug']}"
        }
        assert isinstance(outcomes[2], NotFound)
        assert [emitted(ctx) for ctx in batch.each] == [
            ["badge.awarded"],
            [],
            [],
            ["badge.awarded"],
        ]

    async def test_the_badge_is_read_once_per_batch(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        cmds = [award_badge(email=f"{name}@example.org") for name in ("a", "b", "c")]

        outcomes = await handlers.award_badge(cmds, choosing_batch(deps, *cmds))

        assert [o["email"] for o in outcomes] == [cmd.award.email for cmd in cmds]
        assert repo.ran("badges.find") == ["badges.find"]

    @pytest.mark.parametrize(
        ("badge_fields", "award_fields"),
        [
            ({}, {"claimCode": "read-2024"}),
            ({"credential": OCA}, {"holderOcId": "ada.edu", "name": "Ada"}),
            ({"award_limit": 3}, {}),
            ({"supports_milestone": True}, {}),
        ],
        ids=["claim code", "credential", "limit", "milestone"],
    )
    async def test_anything_more_commits_in_the_transaction(
        self,
        deps: Deps,
        repo: FakeRepository,
        system: Row,
        badge_fields: dict[str, Any],
        award_fields: dict[str, Any],
    ) -> None:
        badge_fields = dict(badge_fields)
        milestone = badge_fields.pop("supports_milestone", False)
        badge = repo.add_badge(system["id"], "reader", **badge_fields)
        if milestone:
            primary = repo.add_badge(system["id"], "bookworm")
            repo.add_milestone(system["id"], primary["id"], [badge["id"]], required=2)
        repo.add_claim_code(badge["id"], "read-2024")
        cmd = award_badge(**award_fields)
        batch = choosing_batch(deps, cmd)

        [reply] = await handlers.award_badge([cmd], batch)

        assert (batch.began, batch.at_once) == (1, [])
        [stored] = repo.awards(badge)
        assert reply["slug"] == stored["slug"]
        assert repo.ran("instances.insert") == ["instances.insert"]
        assert "badge.awarded" in emitted(batch.each[0])

    async def test_in_a_transaction_each_award_of_a_batch_has_its_savepoint(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader", award_limit=1)
        repo.add_claim_code(badge["id"], "read-2024")
        cmds = [award_badge(email="bob@example.org"), award_badge(claimCode="read-2024")]
        batch = choosing_batch(deps, *cmds)

        outcomes = await handlers.award_badge(cmds, batch)

        assert batch.began == 1
        assert outcomes[0]["email"] == "bob@example.org"
        # The limit refused the second: its claim code is not consumed, its events are gone.
        assert isinstance(outcomes[1], Conflict)
        [code] = repo.tables.claim_codes.values()
        assert code["claimed"] is False
        assert [emitted(ctx) for ctx in batch.each] == [["badge.awarded"], []]
        # Every claim code's lock, every recipient's, then the badge's, before the first award.
        assert repo.ran()[1:4] == [
            "claim_codes.lock",
            "milestones.lock_recipients",
            "instances.lock_badge",
        ]

    async def test_the_transaction_is_chosen_before_anything_is_written(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        repo.add_claim_code(badge["id"], "read-2024")
        cmd = award_badge(claimCode="read-2024")
        batch = choosing_batch(deps, cmd)
        began_at = []
        open_transaction = batch._begin

        async def begin() -> None:
            began_at.append(len(repo.calls))
            assert open_transaction is not None
            await open_transaction()

        batch._begin = begin

        await handlers.award_badge([cmd], batch)

        assert began_at == [repo.ran().index("claim_codes.claim")]

    async def test_a_unique_badge_held_answers_409_with_the_held_awards_url(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader", is_unique=True)
        held = repo.add_award(badge, "ADA@example.org")
        cmd = award_badge()
        batch = choosing_batch(deps, cmd, at_once_returns=[False])

        [refused] = await handlers.award_badge([cmd], batch)

        assert isinstance(refused, Conflict)
        assert str(refused) == f"User {ADA} has already been awarded badge reader"
        assert refused.details == {"assertionUrl": f"{BASE_URL}/public/assertions/{held['slug']}"}
        assert len(batch.at_once) == 1
        assert batch.each[0].events == []

    async def test_nothing_inserted_and_nothing_held_still_answers_409(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        """The held award was revoked between the statement and the look-up."""
        repo.add_badge(system["id"], "reader", is_unique=True)
        cmd = award_badge()

        [refused] = await handlers.award_badge(
            [cmd], choosing_batch(deps, cmd, at_once_returns=[False])
        )

        assert isinstance(refused, Conflict)
        assert "already been awarded" in str(refused)
        assert refused.details is None

    async def test_a_taken_slug_answers_409(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        cmd = award_badge(slug="ada-reads")
        taken = asyncpg.UniqueViolationError("instances_slug_key")

        [refused] = await handlers.award_badge(
            [cmd], choosing_batch(deps, cmd, at_once_returns=taken)
        )

        assert isinstance(refused, Conflict)
        assert "slug" in str(refused)
        assert refused.details == {"slug": "ada-reads", "email": ADA}

    async def test_a_taken_slug_in_a_batch_fails_the_batch_for_each_to_be_answered_alone(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        cmds = [award_badge(slug="ada-reads"), award_badge(email="bob@example.org")]
        taken = asyncpg.UniqueViolationError("instances_slug_key")

        with pytest.raises(asyncpg.UniqueViolationError):
            await handlers.award_badge(cmds, choosing_batch(deps, *cmds, at_once_returns=taken))

    async def test_an_archived_badge_is_refused_before_choosing(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader", archived=True)
        cmd = award_badge()
        batch = choosing_batch(deps, cmd)

        [refused] = await handlers.award_badge([cmd], batch)

        assert isinstance(refused, Conflict)
        assert "archived" in str(refused)
        assert (batch.began, batch.at_once) == (0, [])

    async def test_an_unknown_badge_is_a_404(self, deps: Deps, system: Row) -> None:
        cmd = award_badge()
        [refused] = await handlers.award_badge([cmd], choosing_batch(deps, cmd))
        assert isinstance(refused, NotFound)
        assert "badge" in str(refused)


class TestRevokeBadge:
    async def test_the_newest_award_is_revoked_and_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        repo.add_award(badge, ADA)
        newest = repo.add_award(badge, ADA)
        cmd = RevokeBadge(scope=SCOPE, badge="reader", email=ADA)
        ctx = request_context(deps, cmd)

        reply = await handlers.revoke_badge(cmd, ctx)

        assert reply["slug"] == newest["slug"]
        assert newest["revoked_at"] is not None
        assert emitted(ctx) == ["badge.revoked"]
        assert event(ctx, "badge.revoked") == {
            "system": "chicago",
            "uid": newest["slug"],
            "badge": shown(ctx, repo.tables.badge(badge["id"])),
            "email": ADA,
        }

    @pytest.mark.parametrize("status", ["pending", "failed"])
    async def test_a_credential_not_issued_is_cancelled(
        self, deps: Deps, repo: FakeRepository, system: Row, status: str
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        credential_id = "8b0b7a8e-3c52-4f0e-9a43-2f8f1d6c0b1e"
        repo.add_award(badge, ADA, credential_id=credential_id, credential_status=status)
        cmd = RevokeBadge(scope=SCOPE, badge="reader", email=ADA)
        ctx = request_context(deps, cmd)

        await handlers.revoke_badge(cmd, ctx)

        assert emitted(ctx) == ["badge.revoked", "issuer.cancel_credential"]
        assert event(ctx, "issuer.cancel_credential") == {"credentialId": credential_id}

    async def test_an_issued_credential_stays_issued(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        repo.add_award(
            badge,
            ADA,
            credential_id="8b0b7a8e-3c52-4f0e-9a43-2f8f1d6c0b1e",
            credential_status="issued",
        )
        cmd = RevokeBadge(scope=SCOPE, badge="reader", email=ADA)
        ctx = request_context(deps, cmd)

        await handlers.revoke_badge(cmd, ctx)

        assert emitted(ctx) == ["badge.revoked"]

    async def test_no_active_award_is_a_404(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        repo.add_award(badge, ADA, revoked_at=repo.tables.badges[badge["id"]]["created_at"])
        cmd = RevokeBadge(scope=SCOPE, badge="reader", email=ADA)
        ctx = request_context(deps, cmd)

        with pytest.raises(NotFound, match="badgeInstance"):
            await handlers.revoke_badge(cmd, ctx)
        assert ctx.events == []


class TestReads:
    async def test_an_award_is_shown_with_its_badge(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        award = repo.add_award(badge, ADA)
        query = GetInstance(scope=SCOPE, badge="reader", email=ADA)
        ctx = request_context(deps, query)

        found = await handlers.get_instance(query, ctx)

        assert found["slug"] == award["slug"]
        assert found["badge"] == shown(ctx, repo.tables.badge(badge["id"]))

    async def test_a_badge_lists_its_active_awards(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        first = repo.add_award(badge, ADA)
        repo.add_award(badge, "bob@example.org", revoked_at=badge["created_at"])
        query = ListInstances(scope=SCOPE, badge="reader")

        listed = await handlers.list_instances(query, request_context(deps, query))

        assert [item["slug"] for item in listed["items"]] == [first["slug"]]
        assert listed["total"] == 1

    async def test_an_emails_awards_show_each_its_own_badge(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        reader = repo.add_badge(system["id"], "reader")
        writer = repo.add_badge(system["id"], "writer")
        repo.add_award(reader, ADA)
        repo.add_award(writer, "ada@EXAMPLE.org")
        query = ListInstancesByEmail(scope=SCOPE, email=ADA)
        ctx = request_context(deps, query)

        listed = await handlers.list_instances_by_email(query, ctx)

        assert [item["badge"]["slug"] for item in listed["items"]] == ["reader", "writer"]
        assert ctx.system_id == system["id"]
