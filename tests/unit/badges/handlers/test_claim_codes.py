"""Claim codes (services/badges/handlers/claim_codes.py): a code given or drawn (and drawn again
on a collision), claimed once unless multi-use, found by its value. Run on an in-memory
repository (fakes.py)."""

from __future__ import annotations

import pytest

from services.badges.deps import Deps
from services.badges.domain.claim_codes import CodeAlreadyUsed
from services.badges.handlers import claim_codes as handlers
from shared.errors import Conflict, NotFound
from shared.messages.claim_codes import (
    ClaimCode,
    ClaimCodeOptions,
    CreateClaimCode,
    DeleteClaimCode,
    FindBadgeByCode,
)
from shared.messages.common import Scope
from tests.unit.badges.fakes import FakeRepository, Row, emitted, event, request_context

SCOPE = Scope(system="chicago")
ADA = "ada@example.org"


@pytest.fixture
def badge(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    return repo.add_badge(system["id"], "reader")


class TestCreateClaimCode:
    async def test_a_given_code(self, deps: Deps, repo: FakeRepository, badge: Row) -> None:
        options = ClaimCodeOptions(multiuse=True)
        cmd = CreateClaimCode(scope=SCOPE, badge="reader", code="read-2024", options=options)

        created = await handlers.create_claim_code(cmd, request_context(deps, cmd))

        [stored] = repo.tables.claim_codes.values()
        assert created["claimCode"] == {
            "id": stored["id"],
            "code": "read-2024",
            "claimed": False,
            "email": None,
            "multiuse": True,
        }
        assert created["badge"]["slug"] == "reader"

    async def test_a_given_code_the_badge_has_is_a_409(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        repo.add_claim_code(badge["id"], "read-2024")
        cmd = CreateClaimCode(scope=SCOPE, badge="reader", code="read-2024")

        with pytest.raises(Conflict, match="claimCode with that `code` already exists") as taken:
            await handlers.create_claim_code(cmd, request_context(deps, cmd))
        assert taken.value.details == {
            "code": "read-2024",
            "claimed": False,
            "multiuse": False,
            "email": None,
        }
        assert repo.ran("claim_codes.insert") == ["claim_codes.insert"]

    async def test_a_drawn_code_colliding_is_drawn_again(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        repo.code_collisions = handlers.RANDOM_CODE_ATTEMPTS - 1
        cmd = CreateClaimCode(scope=SCOPE, badge="reader")

        created = await handlers.create_claim_code(cmd, request_context(deps, cmd))

        assert len(created["claimCode"]["code"]) == 10
        inserts = [args for call, args in repo.calls if call == "claim_codes.insert"]
        assert len(inserts) == handlers.RANDOM_CODE_ATTEMPTS
        assert len({code for _, code in inserts}) == handlers.RANDOM_CODE_ATTEMPTS

    async def test_drawing_gives_up_after_its_attempts(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        repo.code_collisions = handlers.RANDOM_CODE_ATTEMPTS
        cmd = CreateClaimCode(scope=SCOPE, badge="reader")
        with pytest.raises(Conflict):
            await handlers.create_claim_code(cmd, request_context(deps, cmd))
        assert repo.tables.claim_codes == {}


class TestClaim:
    async def test_claimed_by_an_email_and_announced(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        stored = repo.add_claim_code(badge["id"], "read-2024")
        cmd = ClaimCode(scope=SCOPE, badge="reader", code="read-2024", email=ADA)
        ctx = request_context(deps, cmd)

        claimed = await handlers.claim(cmd, ctx)

        assert (stored["claimed"], stored["email"]) == (True, ADA)
        assert claimed["claimCode"]["claimed"] is True
        assert emitted(ctx) == ["claim_code.claimed"]
        assert event(ctx, "claim_code.claimed") == {
            "system": "chicago",
            "badge": claimed["badge"],
            "claimCode": claimed["claimCode"],
            "email": ADA,
        }
        # Claiming alone awards nothing.
        assert repo.tables.instances == {}

    async def test_a_used_single_use_code_is_refused(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        repo.add_claim_code(badge["id"], "read-2024", claimed=True)
        cmd = ClaimCode(scope=SCOPE, badge="reader", code="read-2024")
        ctx = request_context(deps, cmd)
        with pytest.raises(CodeAlreadyUsed):
            await handlers.claim(cmd, ctx)
        assert ctx.events == []

    async def test_a_multi_use_code_is_claimed_again(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        repo.add_claim_code(badge["id"], "read-2024", claimed=True, multiuse=True)
        cmd = ClaimCode(scope=SCOPE, badge="reader", code="read-2024", email=ADA)
        ctx = request_context(deps, cmd)

        await handlers.claim(cmd, ctx)

        assert emitted(ctx) == ["claim_code.claimed"]

    async def test_an_unknown_code_is_a_404(self, deps: Deps, badge: Row) -> None:
        cmd = ClaimCode(scope=SCOPE, badge="reader", code="nope")
        with pytest.raises(NotFound, match="claimCode"):
            await handlers.claim(cmd, request_context(deps, cmd))


class TestFindBadgeByCode:
    @pytest.mark.parametrize(
        ("claimed", "multiuse", "shown"),
        [(True, False, 1), (True, True, 0), (False, False, 0)],
    )
    async def test_claimed_is_1_only_for_a_used_single_use_code(
        self,
        deps: Deps,
        repo: FakeRepository,
        badge: Row,
        claimed: bool,
        multiuse: bool,
        shown: int,
    ) -> None:
        repo.add_claim_code(badge["id"], "read-2024", claimed=claimed, multiuse=multiuse)
        query = FindBadgeByCode(scope=SCOPE, code="read-2024")
        ctx = request_context(deps, query)

        found = await handlers.find_badge_by_code(query, ctx)

        assert (found["slug"], found["claimed"]) == ("reader", shown)
        assert ctx.system_id == badge["system_id"]

    async def test_an_unknown_code_is_a_404_in_badgekits_words(
        self, deps: Deps, badge: Row
    ) -> None:
        query = FindBadgeByCode(scope=SCOPE, code="nope")
        with pytest.raises(NotFound, match="Could not find the requested claim code nope"):
            await handlers.find_badge_by_code(query, request_context(deps, query))


async def test_a_deleted_code_is_shown_one_last_time(
    deps: Deps, repo: FakeRepository, badge: Row
) -> None:
    repo.add_claim_code(badge["id"], "read-2024")
    cmd = DeleteClaimCode(scope=SCOPE, badge="reader", code="read-2024")

    deleted = await handlers.delete_claim_code(cmd, request_context(deps, cmd))

    assert deleted["claimCode"]["code"] == "read-2024"
    assert repo.tables.claim_codes == {}
    with pytest.raises(NotFound):
        await handlers.delete_claim_code(cmd, request_context(deps, cmd))
