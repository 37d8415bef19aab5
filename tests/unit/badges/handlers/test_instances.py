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
    choosing_context,
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
    async def test_a_plain_award_commits_at_once_with_the_insert_and_its_answer(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        cmd = award_badge(comment="Well read", evidence="https://example.org/essay")
        ctx = choosing_context(deps, cmd)

        reply = await handlers.award_badge(cmd, ctx)

        [committed] = ctx.at_once
        assert ctx.began == 0
        assert committed.statement == instances.INSERT
        args = committed.args
        planned = NewAward(
            uid=args[2],
            slug=reply["slug"],
            badge_id=badge["id"],
            system_id=system["id"],
            email=ADA,
            salt=args[5],
            issued_on=args[6],
            expires=None,
            claim_code=None,
            comment="Well read",
            evidence_url="https://example.org/essay",
            unique=False,
            credential=None,
        )
        assert args == instances.insert_args(planned, None)
        assert committed.reply == reply
        assert reply == {
            "slug": reply["slug"],
            "email": ADA,
            "expires": None,
            "issuedOn": args[6].isoformat(),
            "claimCode": None,
            "assertionUrl": f"{BASE_URL}/public/assertions/{reply['slug']}",
            "openBadgeCredentialUrl": f"{BASE_URL}/public/credentials/{reply['slug']}",
            "badge": None,
        }
        # Its event is written by the same statement, so it is emitted before it.
        assert [e.type for e in committed.events] == ["badge.awarded"]
        assert committed.events[0].data["uid"] == reply["slug"]
        assert repo.ran("instances") == []
        assert ctx.system_id == system["id"]

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
        ctx = choosing_context(deps, cmd)

        reply = await handlers.award_badge(cmd, ctx)

        assert (ctx.began, ctx.at_once) == (1, [])
        [stored] = repo.awards(badge)
        assert reply["slug"] == stored["slug"]
        assert repo.ran("instances.insert") == ["instances.insert"]
        assert "badge.awarded" in emitted(ctx)

    async def test_the_transaction_is_chosen_before_anything_is_written(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader")
        repo.add_claim_code(badge["id"], "read-2024")
        cmd = award_badge(claimCode="read-2024")
        ctx = choosing_context(deps, cmd)
        began_at = []
        open_transaction = ctx._begin

        async def begin() -> None:
            began_at.append(len(repo.calls))
            assert open_transaction is not None
            await open_transaction()

        ctx._begin = begin

        await handlers.award_badge(cmd, ctx)

        assert began_at == [repo.ran().index("claim_codes.claim")]

    async def test_a_unique_badge_held_answers_409_with_the_held_awards_url(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        badge = repo.add_badge(system["id"], "reader", is_unique=True)
        held = repo.add_award(badge, "ADA@example.org")
        cmd = award_badge()
        ctx = choosing_context(deps, cmd, at_once_returns=None)

        with pytest.raises(Conflict) as refused:
            await handlers.award_badge(cmd, ctx)

        assert str(refused.value) == f"User {ADA} has already been awarded badge reader"
        assert refused.value.details == {
            "assertionUrl": f"{BASE_URL}/public/assertions/{held['slug']}"
        }
        assert len(ctx.at_once) == 1
        assert ctx.events == []

    async def test_nothing_inserted_and_nothing_held_still_answers_409(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        """The held award was revoked between the statement and the look-up."""
        repo.add_badge(system["id"], "reader", is_unique=True)
        cmd = award_badge()
        ctx = choosing_context(deps, cmd, at_once_returns=None)

        with pytest.raises(Conflict, match="already been awarded") as refused:
            await handlers.award_badge(cmd, ctx)
        assert refused.value.details is None

    async def test_a_taken_slug_answers_409(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        cmd = award_badge(slug="ada-reads")
        taken = asyncpg.UniqueViolationError("instances_slug_key")
        ctx = choosing_context(deps, cmd, at_once_returns=taken)

        with pytest.raises(Conflict, match="slug") as refused:
            await handlers.award_badge(cmd, ctx)
        assert refused.value.details == {"slug": "ada-reads", "email": ADA}

    async def test_an_archived_badge_is_refused_before_choosing(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader", archived=True)
        cmd = award_badge()
        ctx = choosing_context(deps, cmd)

        with pytest.raises(Conflict, match="archived"):
            await handlers.award_badge(cmd, ctx)
        assert (ctx.began, ctx.at_once) == (0, [])

    async def test_an_unknown_badge_is_a_404(self, deps: Deps, system: Row) -> None:
        cmd = award_badge()
        with pytest.raises(NotFound, match="badge"):
            await handlers.award_badge(cmd, choosing_context(deps, cmd))


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
