"""Awarding a badge below its handlers (services/badges/awarding.py): an award planned before
anything is written, then written in the caller's transaction with its claim code, its locks,
its events and the milestones it completes; bulk awards. Run on an in-memory repository
(fakes.py): the SQL itself runs on Postgres in tests/integration/badges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.badges import awarding
from services.badges.deps import Deps
from services.badges.domain import credentials
from services.badges.domain.claim_codes import CodeAlreadyUsed
from services.badges.lookups import shown
from shared.context import Context
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.messages.common import Scope
from shared.messages.imports import ImportRowFields
from shared.messages.instances import AwardBadge, AwardFields
from tests.unit.badges.fakes import (
    BASE_URL,
    FakeRepository,
    Row,
    emitted,
    event,
    request_context,
)

OCA = {"kind": "OCA", "achievementType": "Badge"}
ADA = "ada@example.org"


@pytest.fixture
def system(repo: FakeRepository) -> Row:
    return repo.add_system("chicago")


@pytest.fixture
def ctx(deps: Deps) -> Context[Deps]:
    """A command's context, in its transaction (awarding writes in the caller's)."""
    message = AwardBadge(
        scope=Scope(system="chicago"), badge="reader", award=AwardFields(email=ADA)
    )
    return request_context(deps, message)


def badge_of(repo: FakeRepository, system: Row, slug: str = "reader", **fields: Any) -> Row:
    """A badge as the repository reads it (what awarding is given)."""
    stored = repo.add_badge(system["id"], slug, **fields)
    return repo.tables.badge(stored["id"])


def plan(ctx: Context[Deps], badge: Row, email: str = ADA, **fields: Any) -> awarding.Planned:
    return awarding.plan(ctx, badge, shown(ctx, badge), email, **fields)


class TestPlan:
    def test_every_value_is_fixed_and_the_answer_known_before_writing(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, is_unique=True)
        planned = plan(ctx, badge, slug="ada-reads", comment="Well read")

        award = planned.award
        assert (award.slug, award.email, award.badge_id, award.system_id) == (
            "ada-reads",
            ADA,
            badge["id"],
            system["id"],
        )
        assert (award.unique, award.comment, award.credential) == (True, "Well read", None)
        assert datetime.now(UTC) - award.issued_on < timedelta(seconds=5)
        assert planned.shown == {
            "slug": "ada-reads",
            "email": ADA,
            "expires": None,
            "issuedOn": award.issued_on.isoformat(),
            "claimCode": None,
            "assertionUrl": f"{BASE_URL}/public/assertions/ada-reads",
            "openBadgeCredentialUrl": f"{BASE_URL}/public/credentials/ada-reads",
            "badge": None,
        }
        assert planned.credential_body is None
        assert repo.calls == []

    def test_an_expiry_in_the_past_is_refused(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            plan(ctx, badge_of(repo, system), expires=datetime.now(UTC) - timedelta(days=1))
        assert refused.value.details[0]["field"] == "expires"

    def test_an_archived_badge_is_refused(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        with pytest.raises(Conflict, match="archived"):
            plan(ctx, badge_of(repo, system, archived=True))

    def test_a_plain_award_keeps_the_microseconds_it_was_given(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        issued = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
        assert plan(ctx, badge_of(repo, system), issued_on=issued).award.issued_on == issued

    def test_a_credential_is_issued_on_the_millisecond_with_its_body_fixed(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, credential=OCA)
        fields = AwardFields.model_validate({"email": ADA, "holderOcId": "ada.edu", "name": "Ada"})
        holder = credentials.holder_of(badge, fields)
        issued = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

        planned = plan(ctx, badge, issued_on=issued, holder=holder)

        award, body = planned.award, planned.credential_body
        assert award.issued_on == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
        assert planned.shown["issuedOn"] == "2024-05-01T12:00:00.123000+00:00"
        assert award.credential is not None
        assert (award.credential.holder_oc_id, award.credential.name) == ("ada.edu", "Ada")
        assert body is not None
        assert body["credentialPayload"]["validFrom"] == "2024-05-01T12:00:00.123Z"
        assert body["credentialPayload"]["awardedDate"] == "2024-05-01T12:00:00.123Z"
        assert body["issuerReferenceId"] == f"plaudit:{award.uid}"
        assert body["holderOcId"] == "ada.edu"
        assert body["credentialPayload"]["credentialSubject"]["email"] == ADA
        assert planned.shown["credential"] == {"id": str(award.credential.id), "status": "pending"}

    def test_an_import_rows_narrative_is_planned_and_a_requests_award_has_none(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)
        row = ImportRowFields.model_validate({"email": ADA, "narrative": "Read *twelve* books."})

        planned = awarding.plan_fields(ctx, badge, shown(ctx, badge), row, narrative=row.narrative)

        assert planned.award.narrative == "Read *twelve* books."
        assert "narrative" not in planned.shown  # BadgeKit's instance has no such field
        # A single award's fields have no narrative (BadgeKit's): one sent is not read.
        request = AwardFields.model_validate({"email": ADA, "narrative": "Not read"})
        assert awarding.plan_fields(ctx, badge, shown(ctx, badge), request).award.narrative is None


class TestWrite:
    async def test_a_narrative_is_stored_and_announced(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)
        planned = plan(ctx, badge, narrative="Read *twelve* books.")

        await awarding.write(ctx, badge, shown(ctx, badge), planned)

        [stored] = repo.awards(badge)
        assert stored["narrative"] == "Read *twelve* books."
        assert event(ctx, "badge.awarded")["narrative"] == "Read *twelve* books."

    async def test_a_plain_award_is_inserted_and_announced(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)

        answer = await awarding.award(ctx, badge, ADA, comment="Well read")

        [stored] = repo.awards(badge)
        assert answer["slug"] == stored["slug"]
        assert emitted(ctx) == ["badge.awarded"]
        assert event(ctx, "badge.awarded") == {
            "system": "chicago",
            "uid": stored["slug"],
            "badge": shown(ctx, badge),
            "email": ADA,
            "assertionUrl": answer["assertionUrl"],
            "openBadgeCredentialUrl": answer["openBadgeCredentialUrl"],
            "issuedOn": int(stored["issued_on"].timestamp()),
            "comment": "Well read",
            "credential": None,
            "salt": stored["salt"],
            "expires": None,
            "evidence": None,
            "narrative": None,
        }
        assert ctx.events[0].system_id == system["id"]
        assert ctx.system_id == system["id"]

    async def test_a_credential_award_asks_the_issuer_for_it(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, credential=OCA)
        fields = AwardFields.model_validate({"email": ADA, "holderOcId": "ada.edu", "name": "Ada"})
        planned = plan(ctx, badge, holder=credentials.holder_of(badge, fields))

        await awarding.write(ctx, badge, shown(ctx, badge), planned)

        [stored] = repo.awards(badge)
        assert (stored["credential_status"], stored["holder_oc_id"]) == ("pending", "ada.edu")
        assert emitted(ctx) == ["badge.awarded", "issuer.issue_credential"]
        issue = event(ctx, "issuer.issue_credential")
        assert issue == {
            "credentialId": stored["credential_id"],
            "system": "chicago",
            "awardUid": str(stored["uid"]),
            "body": planned.credential_body,
        }
        credential = event(ctx, "badge.awarded")["credential"]
        assert credential == {"id": stored["credential_id"], "status": "pending"}

    async def test_its_claim_code_is_consumed_before_the_insert(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)
        code = repo.add_claim_code(badge["id"], "read-2024")

        await awarding.award(ctx, badge, ADA, claim_code="read-2024")

        assert (code["claimed"], code["email"]) == (True, ADA)
        assert repo.ran("claim_codes.claim", "instances.insert") == [
            "claim_codes.claim",
            "instances.insert",
        ]
        assert emitted(ctx) == ["claim_code.claimed", "badge.awarded"]
        assert event(ctx, "claim_code.claimed")["claimCode"]["code"] == "read-2024"
        assert repo.awards(badge)[0]["claim_code"] == "read-2024"

    async def test_an_unknown_claim_code_is_a_404_and_nothing_is_awarded(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)
        with pytest.raises(NotFound, match="claimCode"):
            await awarding.award(ctx, badge, ADA, claim_code="nope")
        assert repo.awards(badge) == []
        assert ctx.events == []

    async def test_a_used_single_use_code_is_refused(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)
        repo.add_claim_code(badge["id"], "read-2024", claimed=True)
        with pytest.raises(CodeAlreadyUsed):
            await awarding.award(ctx, badge, ADA, claim_code="read-2024")
        assert repo.awards(badge) == []

    async def test_a_limit_is_counted_under_locks_taken_recipient_first_then_badge(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, award_limit=5)

        await awarding.award(ctx, badge, ADA)

        locks = ["milestones.lock_recipient", "instances.lock_badge", "instances.insert"]
        assert repo.ran(*locks) == locks
        calls = dict(repo.calls)
        assert calls["milestones.lock_recipient"] == (system["id"], ADA)
        assert calls["instances.lock_badge"] == (badge["id"],)
        assert calls["instances.insert"][1] == 5

    async def test_a_badge_without_a_limit_takes_no_lock(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        await awarding.award(ctx, badge_of(repo, system), ADA)
        assert repo.ran("milestones.lock_recipient", "instances.lock_badge") == []

    async def test_a_reached_limit_is_a_409(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, award_limit=2)
        repo.add_award(badge, "bob@example.org")
        repo.add_award(badge, "cy@example.org")

        with pytest.raises(Conflict, match="reached its limit of 2"):
            await awarding.award(ctx, badge, ADA)
        assert len(repo.awards(badge)) == 2
        assert ctx.events == []

    async def test_a_unique_badge_held_is_a_409_naming_the_held_award(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, is_unique=True)
        held = repo.add_award(badge, "Ada@Example.org")

        with pytest.raises(Conflict) as refused:
            await awarding.award(ctx, badge, ADA)

        assert refused.value.status == 409
        assert refused.value.details == {
            "assertionUrl": f"{BASE_URL}/public/assertions/{held['slug']}"
        }
        assert ctx.events == []

    async def test_a_taken_slug_is_a_409(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        other = badge_of(repo, system, "writer")
        repo.add_award(other, "bob@example.org", slug="ada-reads")
        with pytest.raises(Conflict, match="slug"):
            await awarding.award(ctx, badge_of(repo, system), ADA, slug="ada-reads")


class TestFollowMilestones:
    @pytest.fixture
    def support(self, repo: FakeRepository, system: Row) -> tuple[Row, Row]:
        return badge_of(repo, system, "first-book"), badge_of(repo, system, "second-book")

    async def test_completing_a_milestone_awards_its_primary_badge(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, second = support
        primary = badge_of(repo, system, "bookworm")
        repo.add_milestone(system["id"], primary["id"], [first["id"], second["id"]], required=2)
        repo.add_award(first, ADA)

        await awarding.award(ctx, second, ADA)

        assert [row["email"] for row in repo.awards(primary)] == [ADA]
        assert emitted(ctx) == ["badge.awarded", "badge.awarded"]
        assert [e.data["badge"]["slug"] for e in ctx.events] == ["second-book", "bookworm"]
        # Checked under the recipient's lock, so that two awards cannot both miss it.
        assert repo.ran("milestones.lock_recipient", "milestones.held_badges")[:2] == [
            "milestones.lock_recipient",
            "milestones.held_badges",
        ]

    async def test_a_milestone_not_met_yet_awards_nothing_more(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, second = support
        primary = badge_of(repo, system, "bookworm")
        repo.add_milestone(system["id"], primary["id"], [first["id"], second["id"]], required=2)

        await awarding.award(ctx, second, ADA)

        assert repo.awards(primary) == []
        assert emitted(ctx) == ["badge.awarded"]

    async def test_an_awarded_primary_badge_may_complete_the_next_milestone(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm")
        top = badge_of(repo, system, "librarian")
        repo.add_milestone(system["id"], primary["id"], [first["id"]])
        repo.add_milestone(system["id"], top["id"], [primary["id"]])

        await awarding.award(ctx, first, ADA)

        assert len(repo.awards(primary)) == len(repo.awards(top)) == 1
        assert [e.data["badge"]["slug"] for e in ctx.events] == [
            "first-book",
            "bookworm",
            "librarian",
        ]

    async def test_a_queue_application_milestone_queues_an_application(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm")
        repo.add_milestone(system["id"], primary["id"], [first["id"]], action="queue-application")

        await awarding.award(ctx, first, ADA)

        assert repo.awards(primary) == []
        [application] = repo.tables.applications.values()
        assert (application["badge_id"], application["learner"]) == (primary["id"], ADA)
        assert emitted(ctx) == ["badge.awarded", "application.submitted"]
        submitted = event(ctx, "application.submitted")
        assert submitted["application"]["badge"]["slug"] == "bookworm"

    async def test_no_application_is_queued_for_an_archived_badge(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm", archived=True)
        repo.add_milestone(system["id"], primary["id"], [first["id"]], action="queue-application")

        await awarding.award(ctx, first, ADA)

        assert repo.tables.applications == {}
        assert emitted(ctx) == ["badge.awarded"]

    async def test_a_primary_badge_awarded_down_a_chain_is_not_awarded_again(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm")
        top = badge_of(repo, system, "librarian")
        repo.add_milestone(system["id"], primary["id"], [first["id"]])
        repo.add_milestone(system["id"], top["id"], [first["id"]])
        repo.add_milestone(system["id"], top["id"], [primary["id"]])

        await awarding.award(ctx, first, ADA)

        assert len(repo.awards(top)) == 1
        assert [e.data["badge"]["slug"] for e in ctx.events] == [
            "first-book",
            "bookworm",
            "librarian",
        ]

    async def test_a_pending_application_is_not_queued_twice(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm")
        repo.add_milestone(system["id"], primary["id"], [first["id"]], action="queue-application")
        repo.add_application(primary["id"], "ADA@example.org")

        await awarding.award(ctx, first, ADA)

        assert len(repo.tables.applications) == 1
        assert emitted(ctx) == ["badge.awarded"]

    @pytest.mark.parametrize(
        "refusal",
        [{"archived": True}, {"award_limit": 1}],
        ids=["archived", "limit reached"],
    )
    async def test_a_primary_badge_refused_is_skipped_without_failing_the_trigger(
        self,
        ctx: Context[Deps],
        repo: FakeRepository,
        system: Row,
        support: tuple[Row, Row],
        refusal: dict[str, Any],
    ) -> None:
        first, _ = support
        primary = badge_of(repo, system, "bookworm", **refusal)
        repo.add_award(primary, "bob@example.org")
        repo.add_milestone(system["id"], primary["id"], [first["id"]])

        answer = await awarding.award(ctx, first, ADA)

        assert [row["slug"] for row in repo.awards(first)] == [answer["slug"]]
        assert [row["email"] for row in repo.awards(primary)] == ["bob@example.org"]
        assert emitted(ctx) == ["badge.awarded"]
        # In a savepoint: the triggering award's transaction stays usable.
        assert repo.ran("savepoint", "savepoint.rollback") == ["savepoint", "savepoint.rollback"]

    async def test_a_primary_award_failing_after_its_insert_leaves_no_row_and_no_event(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row, support: tuple[Row, Row]
    ) -> None:
        """The primary badge's award fails once written and announced (here its own follow-up
        cannot queue an application): its row and its events go, the trigger's stay."""
        first, _ = support
        primary = badge_of(repo, system, "bookworm")
        top = badge_of(repo, system, "librarian")
        repo.add_milestone(system["id"], primary["id"], [first["id"]])
        repo.add_milestone(system["id"], top["id"], [primary["id"]], action="queue-application")
        repo.failing["applications.insert"] = Conflict("refused")

        await awarding.award(ctx, first, ADA)

        assert repo.awards(primary) == []
        assert len(repo.awards(first)) == 1
        assert emitted(ctx) == ["badge.awarded"]
        assert event(ctx, "badge.awarded")["badge"]["slug"] == "first-book"


class TestAwardInBulk:
    async def test_each_email_is_awarded_once_case_aside_as_first_spelled(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)

        created = await awarding.award_in_bulk(
            ctx, badge, ["Ada@example.org", "bob@example.org", "ada@EXAMPLE.org"]
        )

        assert [award["email"] for award in created] == ["Ada@example.org", "bob@example.org"]
        assert [row["email"] for row in repo.awards(badge)] == [
            "Ada@example.org",
            "bob@example.org",
        ]
        assert emitted(ctx) == ["badge.awarded", "badge.awarded"]

    async def test_emails_holding_the_unique_badge_are_skipped(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, is_unique=True)
        repo.add_award(badge, "bob@example.org")

        created = await awarding.award_in_bulk(ctx, badge, [ADA, "BOB@example.org"])

        assert [award["email"] for award in created] == [ADA]
        assert [e.data["email"] for e in ctx.events] == [ADA]

    async def test_a_plain_badge_is_awarded_to_every_email_in_one_statement(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system)

        await awarding.award_in_bulk(ctx, badge, [f"learner{n}@example.org" for n in range(50)])

        assert repo.ran("instances.insert_many", "instances.insert") == ["instances.insert_many"]
        assert len(repo.awards(badge)) == 50

    async def test_a_limited_badge_locks_every_recipient_then_the_badge_once(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, award_limit=10)

        await awarding.award_in_bulk(ctx, badge, [ADA, "bob@example.org"])

        locks = ["milestones.lock_recipients", "milestones.lock_recipient", "instances.lock_badge"]
        assert repo.ran(*locks, "instances.insert") == [
            "milestones.lock_recipients",
            "instances.lock_badge",
            "instances.insert",
            "instances.insert",
        ]

    async def test_a_reached_limit_fails_the_whole_bulk_award(
        self, ctx: Context[Deps], repo: FakeRepository, system: Row
    ) -> None:
        badge = badge_of(repo, system, award_limit=1)
        with pytest.raises(Conflict, match="limit"):
            await awarding.award_in_bulk(ctx, badge, [ADA, "bob@example.org"])
