"""Awards (BadgeKit's badge-instances.test.js) through the real gateway, RabbitMQ, badges service
and Postgres, and the bugs fixed: unique, limit, expires and archived enforced; re-awards of
non-unique badges and after a revocation; revocation keeps the award; claim codes consumed with
the award; issuer- and program-level look-ups by email that filter.

Also the helpers the claim-code and public-document tests share: awards, and events seen both on
the events exchange (with their data) and in the webhooks service's inbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.client import Answer, Client
from tests.support.events import (
    EventTap,
    eventually,
    inbox_types,
    subscribe,
    system_id_of,
    tap_events,
)
from tests.support.factories import make_badge, make_issuer, make_program, make_system, unique
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


# --- shared helpers -----------------------------------------------------------------------------


def email() -> str:
    return f"{unique('learner')}@example.org"


async def award(client: Client, badge: str, recipient: str, **body: Any) -> dict[str, Any]:
    """Award the badge at path `badge`; the instance as the 201 shows it."""
    answer = await client.post(f"{badge}/instances", json={"email": recipient, **body})
    assert answer.status == 201, f"award: {answer.status} {answer.body}"
    instance: dict[str, Any] = answer.body["instance"]
    return instance


@pytest.fixture
async def events(stack: Stack) -> AsyncIterator[EventTap]:
    async with tap_events(stack, "badge.*", "claim_code.*") as tap:
        yield tap


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def statuses(answers: list[Answer]) -> list[int]:
    return sorted(answer.status for answer in answers)


# --- award --------------------------------------------------------------------------------------


class TestAward:
    async def test_awards_with_badgekit_shape_and_absolute_location(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        answer = await client.post(f"{badge}/instances", json={"email": recipient})
        assert answer.status == 201
        assert answer.body["status"] == "created"
        instance = answer.body["instance"]
        assert set(instance) == {
            "slug",
            "email",
            "expires",
            "issuedOn",
            "claimCode",
            "assertionUrl",
            "openBadgeCredentialUrl",
            "badge",
        }
        assert instance["email"] == recipient
        assert instance["badge"] is None
        assert instance["expires"] is None
        assert instance["claimCode"] is None
        issued = datetime.fromisoformat(instance["issuedOn"])
        assert abs(issued - datetime.now(UTC)) < timedelta(minutes=5)
        url = f"{client.base_url}/public/assertions/{instance['slug']}"
        assert instance["assertionUrl"] == url
        assert answer.headers["Location"] == url

    async def test_given_slug_dates_comment_and_evidence(self, client: Client) -> None:
        badge = await make_badge(client)
        slug = unique("award")
        expires = in_days(30).replace(microsecond=0)
        instance = await award(
            client,
            badge,
            email(),
            slug=slug,
            issuedOn="2024-05-01T12:00:00Z",
            expires=int(expires.timestamp() * 1000),
            comment="Well done",
            evidence="https://example.org/essay",
        )
        assert instance["slug"] == slug
        assert datetime.fromisoformat(instance["issuedOn"]) == datetime(2024, 5, 1, 12, tzinfo=UTC)
        assert datetime.fromisoformat(instance["expires"]) == expires

    @pytest.mark.parametrize(
        "expires",
        [
            lambda: int(in_days(2).timestamp()),
            lambda: int(in_days(2).timestamp() * 1000),
            lambda: in_days(2).isoformat(),
        ],
        ids=["unix seconds", "milliseconds", "iso 8601"],
    )
    async def test_expires_in_every_format(
        self, client: Client, expires: Callable[[], Any]
    ) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email(), expires=expires())
        shown = datetime.fromisoformat(instance["expires"])
        assert abs(shown - in_days(2)) < timedelta(minutes=5)

    async def test_form_bodies(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        answer = await client.post(f"{badge}/instances", form={"email": recipient, "comment": ""})
        assert answer.status == 201, answer.body
        assert answer.body["instance"]["email"] == recipient

    async def test_invalid_fields_get_field_details(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(
            f"{badge}/instances",
            json={"email": "not-an-email", "expires": "soon", "evidence": "javascript:alert(1)"},
        )
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        fields = {detail["field"]: detail for detail in answer.body["details"]}
        assert set(fields) == {"email", "expires", "evidence"}
        assert fields["email"]["message"] == "Invalid email"
        assert fields["evidence"]["message"] == "Invalid URL"

    async def test_missing_email_is_required(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/instances", json={})
        assert answer.status == 400
        assert answer.body["details"] == [
            {"field": "email", "value": "", "message": "Required field"}
        ]

    async def test_unknown_badge_is_not_found(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/badges/nope/instances", json={"email": email()})
        assert answer.status == 404
        assert answer.body["message"] == "Could not find badge field: `slug`, value: `nope`"

    async def test_taken_slug_is_a_conflict(self, client: Client) -> None:
        badge = await make_badge(client)
        slug = unique("award")
        await award(client, badge, email(), slug=slug)
        again = await client.post(f"{badge}/instances", json={"email": email(), "slug": slug})
        assert again.status == 409
        assert again.body["code"] == "ResourceConflict"

    @pytest.mark.parametrize("level", ["issuer", "program"])
    async def test_awards_at_every_level(self, client: Client, level: str) -> None:
        context = await (make_issuer(client) if level == "issuer" else make_program(client))
        badge = await make_badge(client, context)
        instance = await award(client, badge, email())
        assertion = await client.get(f"/public/assertions/{instance['slug']}", sign=False)
        assert assertion.status == 200
        assert assertion.body["badge"] == f"{client.base_url}/public{badge}"

    async def test_a_program_badge_is_awarded_from_its_system(self, client: Client) -> None:
        """BadgeKit finds a badge under every ancestor context."""
        program_badge = await make_badge(client, await make_program(client))
        system, slug = "/".join(program_badge.split("/")[:3]), program_badge.rsplit("/", 1)[1]
        instance = await award(client, f"{system}/badges/{slug}", email())
        assertion = await client.get(f"/public/assertions/{instance['slug']}", sign=False)
        assert assertion.body["badge"] == f"{client.base_url}/public{program_badge}"

    async def test_a_badge_is_not_awarded_from_another_context(self, client: Client) -> None:
        program_badge = await make_badge(client, await make_program(client))
        other_issuer = await make_issuer(client, "/".join(program_badge.split("/")[:3]))
        slug = program_badge.rsplit("/", 1)[1]
        answer = await client.post(
            f"{other_issuer}/badges/{slug}/instances", json={"email": email()}
        )
        assert answer.status == 404


class TestAwardRules:
    async def test_expires_in_the_past_is_refused(self, client: Client) -> None:
        badge = await make_badge(client)
        yesterday = int(in_days(-1).timestamp())
        answer = await client.post(
            f"{badge}/instances", json={"email": email(), "expires": yesterday}
        )
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert [detail["field"] for detail in answer.body["details"]] == ["expires"]
        assert (await client.get(f"{badge}/instances")).body["instances"] == []

    async def test_archived_badge_cannot_be_awarded(self, client: Client) -> None:
        badge = await make_badge(client)
        assert (await client.put(badge, json={"archived": True})).status == 200
        answer = await client.post(f"{badge}/instances", json={"email": email()})
        assert answer.status == 409
        assert answer.body["code"] == "ResourceConflict"
        assert "archived" in answer.body["message"]
        bulk = await client.post(f"{badge}/instances/bulk", json={"emails": [email()]})
        assert bulk.status == 409

    async def test_unique_badge_is_held_once(self, client: Client) -> None:
        badge = await make_badge(client, unique=True)
        recipient = email()
        first = await award(client, badge, recipient)
        again = await client.post(f"{badge}/instances", json={"email": recipient.upper()})
        assert again.status == 409
        slug = badge.rsplit("/", 1)[1]
        assert again.body == {
            "code": "ResourceConflict",
            "message": f"User {recipient.upper()} has already been awarded badge {slug}",
            "details": {"assertionUrl": first["assertionUrl"]},
        }

    async def test_non_unique_badge_is_awarded_again(self, client: Client) -> None:
        """BadgeKit's UNIQUE(email, badgeId) made `unique: false` meaningless (issue #131)."""
        badge = await make_badge(client, unique=False)
        recipient = email()
        first = await award(client, badge, recipient)
        second = await award(client, badge, recipient)
        assert first["slug"] != second["slug"]
        listed = await client.get(f"{badge}/instances")
        assert [i["slug"] for i in listed.body["instances"]] == [first["slug"], second["slug"]]
        newest = await client.get(f"{badge}/instances/{recipient}")
        assert newest.body["instance"]["slug"] == second["slug"]

    async def test_a_revoked_unique_badge_can_be_awarded_anew(self, client: Client) -> None:
        badge = await make_badge(client, unique=True)
        recipient = email()
        first = await award(client, badge, recipient)
        assert (await client.delete(f"{badge}/instances/{recipient}")).status == 200
        second = await award(client, badge, recipient)
        assert second["slug"] != first["slug"]

    async def test_limit_counts_active_awards(self, client: Client) -> None:
        badge = await make_badge(client, limit=2)
        first = email()
        await award(client, badge, first)
        await award(client, badge, email())
        full = await client.post(f"{badge}/instances", json={"email": email()})
        assert full.status == 409
        assert full.body["code"] == "ResourceConflict"
        assert "limit of 2" in full.body["message"]
        assert (await client.delete(f"{badge}/instances/{first}")).status == 200
        await award(client, badge, email())

    async def test_a_limit_of_zero_is_no_limit(self, client: Client) -> None:
        badge = await make_badge(client, limit=1)
        await award(client, badge, email())
        assert (await client.post(f"{badge}/instances", json={"email": email()})).status == 409
        assert (await client.put(badge, json={"limit": 0})).status == 200
        for _ in range(3):
            await award(client, badge, email())
        bulk = await client.post(f"{badge}/instances/bulk", json={"emails": [email(), email()]})
        assert bulk.status == 201, bulk.body
        assert len((await client.get(f"{badge}/instances")).body["instances"]) == 6

    async def test_a_badge_made_unique_later_refuses_a_second_award(self, client: Client) -> None:
        badge = await make_badge(client, unique=False)
        recipient = email()
        await award(client, badge, recipient)
        assert (await client.put(badge, json={"unique": True})).status == 200
        again = await client.post(f"{badge}/instances", json={"email": recipient})
        assert again.status == 409


class TestConcurrentAwards:
    async def test_a_limit_holds_under_concurrent_awards(self, client: Client) -> None:
        badge = await make_badge(client, limit=3)
        answers = await asyncio.gather(
            *(client.post(f"{badge}/instances", json={"email": email()}) for _ in range(16))
        )
        assert statuses(answers) == [201] * 3 + [409] * 13
        listed = await client.get(f"{badge}/instances")
        assert len(listed.body["instances"]) == 3

    async def test_a_unique_badge_is_awarded_once_under_concurrent_awards(
        self, client: Client
    ) -> None:
        badge = await make_badge(client, unique=True)
        recipient = email()
        answers = await asyncio.gather(
            *(client.post(f"{badge}/instances", json={"email": recipient}) for _ in range(12))
        )
        assert statuses(answers) == [201] + [409] * 11
        listed = await client.get(f"{badge}/instances")
        assert len(listed.body["instances"]) == 1

    async def test_awards_arriving_together_each_keep_their_own_answer(
        self, client: Client, events: EventTap
    ) -> None:
        """A burst is committed in batches (one statement for plain awards): the award of an
        email holding the unique badge is refused alone, and only the others announce."""
        badge = await make_badge(client, unique=True)
        system_id = await system_id_of(client, badge)
        held = email()
        await award(client, badge, held)
        fresh = [email() for _ in range(8)]
        answers = await asyncio.gather(
            *(client.post(f"{badge}/instances", json={"email": e}) for e in [*fresh, held])
        )
        assert [a.status for a in answers] == [201] * 8 + [409]
        assert answers[-1].body["code"] == "ResourceConflict"
        found = await events.wait("badge.awarded", system_id, count=9)
        assert sorted(data["email"] for data in found) == sorted([held, *fresh])
        listed = await client.get(f"{badge}/instances")
        assert len(listed.body["instances"]) == 9

    async def test_a_burst_needing_a_transaction_refuses_each_award_alone(
        self, client: Client
    ) -> None:
        """Claim codes put the batch in one transaction, each award in its savepoint: an unknown
        code and a taken slug fail only their own award, and a refused award's code stays
        unclaimed."""
        badge = await make_badge(client, limit=4)
        await client.post(f"{badge}/codes", json={"code": "MANY", "multiuse": True})
        await client.post(f"{badge}/codes", json={"code": "ONCE"})
        taken = await award(client, badge, email())
        bodies = [
            {"email": email(), "claimCode": "MANY"},
            {"email": email(), "claimCode": "NOPE"},
            {"email": email(), "slug": taken["slug"]},
            {"email": email()},
            {"email": email(), "claimCode": "MANY"},
            {"email": email(), "claimCode": "ONCE"},
        ]
        answers = await asyncio.gather(
            *(client.post(f"{badge}/instances", json=body) for body in bodies)
        )
        # The limit of 4 (one held) leaves 3 of the 4 awards that could be made.
        assert sorted(a.status for a in answers) == [201, 201, 201, 404, 409, 409]
        assert (answers[1].status, answers[2].status) == (404, 409)
        listed = await client.get(f"{badge}/instances")
        assert len(listed.body["instances"]) == 4
        once = (await client.get(f"{badge}/codes/ONCE")).body["claimCode"]
        assert once["claimed"] == (answers[5].status == 201)


class TestAwardWithClaimCode:
    async def test_single_use_code_is_consumed_by_the_award(self, client: Client) -> None:
        badge = await make_badge(client)
        await client.post(f"{badge}/codes", json={"code": "ONCE"})
        recipient = email()
        instance = await award(client, badge, recipient, claimCode="ONCE")
        assert instance["claimCode"] == "ONCE"
        code = await client.get(f"{badge}/codes/ONCE")
        assert code.body["claimCode"]["claimed"] is True
        assert code.body["claimCode"]["email"] == recipient
        again = await client.post(
            f"{badge}/instances", json={"email": email(), "claimCode": "ONCE"}
        )
        assert again.status == 400
        assert again.body == {
            "code": "CodeAlreadyUsed",
            "message": "Claim code `ONCE` has already been claimed",
        }

    async def test_multi_use_code_serves_many_awards(self, client: Client) -> None:
        badge = await make_badge(client)
        await client.post(f"{badge}/codes", json={"code": "MANY", "multiuse": True})
        for _ in range(3):
            await award(client, badge, email(), claimCode="MANY")
        listed = await client.get(f"{badge}/instances")
        assert [i["claimCode"] for i in listed.body["instances"]] == ["MANY"] * 3

    async def test_unknown_code_is_not_found_and_awards_nothing(self, client: Client) -> None:
        """BadgeKit threw inside its promise chain and never answered."""
        badge = await make_badge(client)
        answer = await client.post(
            f"{badge}/instances", json={"email": email(), "claimCode": "NOPE"}
        )
        assert answer.status == 404
        assert answer.body["message"] == "Could not find claimCode field: `code`, value: `NOPE`"
        assert (await client.get(f"{badge}/instances")).body["instances"] == []

    async def test_a_code_of_another_badge_does_not_count(self, client: Client) -> None:
        system = await make_system(client)
        badge, other = await make_badge(client, system), await make_badge(client, system)
        await client.post(f"{other}/codes", json={"code": "THEIRS"})
        answer = await client.post(
            f"{badge}/instances", json={"email": email(), "claimCode": "THEIRS"}
        )
        assert answer.status == 404

    async def test_a_refused_award_leaves_the_code_unclaimed(self, client: Client) -> None:
        """The code and the award commit together (BadgeKit consumed the code first)."""
        badge = await make_badge(client, unique=True)
        recipient = email()
        await award(client, badge, recipient)
        await client.post(f"{badge}/codes", json={"code": "KEEP"})
        refused = await client.post(
            f"{badge}/instances", json={"email": recipient, "claimCode": "KEEP"}
        )
        assert refused.status == 409
        code = await client.get(f"{badge}/codes/KEEP")
        assert code.body["claimCode"]["claimed"] is False


class TestBulkAward:
    async def test_awards_every_email(self, client: Client) -> None:
        badge = await make_badge(client)
        emails = [email() for _ in range(3)]
        answer = await client.post(
            f"{badge}/instances/bulk",
            json={"emails": emails, "comment": "Cohort", "claimCode": "IGNORED"},
        )
        assert answer.status == 201
        assert answer.body["status"] == "created"
        instances = answer.body["instances"]
        assert [i["email"] for i in instances] == emails
        assert all(i["claimCode"] is None for i in instances)

    async def test_emails_holding_a_unique_badge_are_skipped(self, client: Client) -> None:
        badge = await make_badge(client, unique=True)
        holder, newcomer = email(), email()
        await award(client, badge, holder)
        answer = await client.post(
            f"{badge}/instances/bulk", json={"emails": [holder, newcomer, newcomer]}
        )
        assert answer.status == 201
        assert [i["email"] for i in answer.body["instances"]] == [newcomer]

    async def test_one_invalid_email_awards_nothing(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.post(
            f"{badge}/instances/bulk", json={"emails": [email(), "not-an-email"]}
        )
        assert answer.status == 400
        assert (await client.get(f"{badge}/instances")).body["instances"] == []

    async def test_an_invalid_email_is_named_email_with_its_index(self, client: Client) -> None:
        """BadgeKit's clients look for the field `email` in the details."""
        badge = await make_badge(client)
        answer = await client.post(
            f"{badge}/instances/bulk",
            json={"emails": [email(), "not-an-email", "also@bad"], "expires": "soon"},
        )
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        details = sorted(answer.body["details"], key=lambda d: (d["field"], d.get("index", -1)))
        assert details == [
            {"field": "email", "value": "not-an-email", "message": "Invalid email", "index": 1},
            {"field": "email", "value": "also@bad", "message": "Invalid email", "index": 2},
            {"field": "expires", "value": "soon", "message": details[2]["message"]},
        ]

    @pytest.mark.parametrize("emails", ["a@example.org", {"a": "b"}, 7])
    async def test_emails_that_are_not_a_list_are_a_validation_error(
        self, client: Client, emails: Any
    ) -> None:
        """BadgeKit answered 500 with a plain Error."""
        badge = await make_badge(client)
        answer = await client.post(f"{badge}/instances/bulk", json={"emails": emails})
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert answer.body["details"][0]["field"] == "emails"

    async def test_the_limit_is_all_or_nothing(self, client: Client) -> None:
        badge = await make_badge(client, limit=2)
        answer = await client.post(
            f"{badge}/instances/bulk", json={"emails": [email(), email(), email()]}
        )
        assert answer.status == 409
        assert (await client.get(f"{badge}/instances")).body["instances"] == []


# --- read ---------------------------------------------------------------------------------------


class TestReadAwards:
    async def test_list_shows_active_awards_with_their_badge(self, client: Client) -> None:
        badge = await make_badge(client)
        kept, revoked = email(), email()
        await award(client, badge, kept)
        await award(client, badge, revoked)
        await client.delete(f"{badge}/instances/{revoked}")
        listed = await client.get(f"{badge}/instances")
        assert listed.status == 200
        assert "pageData" not in listed.body
        assert [i["email"] for i in listed.body["instances"]] == [kept]
        assert listed.body["instances"][0]["badge"]["slug"] == badge.rsplit("/", 1)[1]

    async def test_list_pages(self, client: Client) -> None:
        badge = await make_badge(client)
        emails = [email() for _ in range(3)]
        for recipient in emails:
            await award(client, badge, recipient)
        page = await client.get(f"{badge}/instances?page=2&count=2")
        assert page.body["pageData"] == {"page": 2, "count": 2, "total": 3}
        assert [i["email"] for i in page.body["instances"]] == emails[2:]

    async def test_get_by_email(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        created = await award(client, badge, recipient)
        answer = await client.get(f"{badge}/instances/{recipient}")
        assert answer.status == 200
        instance = answer.body["instance"]
        assert {k: v for k, v in instance.items() if k != "badge"} == {
            k: v for k, v in created.items() if k != "badge"
        }
        assert instance["badge"]["slug"] == badge.rsplit("/", 1)[1]

    async def test_get_unknown_email_is_not_found(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.get(f"{badge}/instances/nobody@example.org")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find badgeInstance field: `email`, value: `nobody@example.org`",
        }


class TestAwardsByEmail:
    async def test_every_level_lists_only_its_own_badges(self, client: Client) -> None:
        """BadgeKit's issuer and program filters were dropped (or crashed on modern Node)."""
        system = await make_system(client)
        issuer = await make_issuer(client, system)
        program = await make_program(client, issuer)
        other_issuer = await make_issuer(client, system)
        badges = {
            "system": await make_badge(client, system),
            "issuer": await make_badge(client, issuer),
            "program": await make_badge(client, program),
            "other": await make_badge(client, other_issuer),
        }
        recipient = email()
        for badge in badges.values():
            await award(client, badge, recipient)
        await award(client, await make_badge(client), recipient)  # another system's

        async def listed(context: str) -> set[str]:
            answer = await client.get(f"{context}/instances/{recipient}")
            assert answer.status == 200, answer.body
            return {i["badge"]["slug"] for i in answer.body["instances"]}

        slug = {name: path.rsplit("/", 1)[1] for name, path in badges.items()}
        assert await listed(system) == set(slug.values())
        assert await listed(issuer) == {slug["issuer"], slug["program"]}
        assert await listed(program) == {slug["program"]}

    async def test_revoked_awards_are_left_out_and_pages_work(self, client: Client) -> None:
        system = await make_system(client)
        recipient = email()
        badges = [await make_badge(client, system) for _ in range(3)]
        for badge in badges:
            await award(client, badge, recipient)
        await client.delete(f"{badges[0]}/instances/{recipient}")
        answer = await client.get(f"{system}/instances/{recipient}?page=1&count=1")
        assert answer.body["pageData"] == {"page": 1, "count": 1, "total": 2}
        assert answer.body["instances"][0]["badge"]["slug"] == badges[1].rsplit("/", 1)[1]

    async def test_nobody_has_an_empty_list_and_unknown_context_is_not_found(
        self, client: Client
    ) -> None:
        system = await make_system(client)
        empty = await client.get(f"{system}/instances/nobody@example.org")
        assert empty.status == 200
        assert empty.body == {"instances": []}
        missing = await client.get(f"{system}/issuers/nope/instances/nobody@example.org")
        assert missing.status == 404


# --- revoke -------------------------------------------------------------------------------------


class TestRevoke:
    async def test_revoke_answers_the_award_and_keeps_it_as_revoked(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        created = await award(client, badge, recipient)
        answer = await client.delete(f"{badge}/instances/{recipient}")
        assert answer.status == 200
        assert set(answer.body) == {"instance"}
        assert answer.body["instance"]["slug"] == created["slug"]
        assert (await client.get(f"{badge}/instances/{recipient}")).status == 404
        assertion = await client.get(f"/public/assertions/{created['slug']}", sign=False)
        assert assertion.status == 410
        assert assertion.body["revoked"] is True

    async def test_revoke_addresses_the_newest_active_award(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        first = await award(client, badge, recipient)
        second = await award(client, badge, recipient)
        revoked = await client.delete(f"{badge}/instances/{recipient}")
        assert revoked.body["instance"]["slug"] == second["slug"]
        still = await client.get(f"{badge}/instances/{recipient}")
        assert still.body["instance"]["slug"] == first["slug"]

    async def test_revoke_unknown_is_not_found(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.delete(f"{badge}/instances/nobody@example.org")
        assert answer.status == 404


# --- events -------------------------------------------------------------------------------------


class TestAwardEvents:
    async def test_award_emits_badge_awarded_with_badgekit_webhook_fields(
        self, client: Client, stack: Stack, events: EventTap
    ) -> None:
        badge = await make_badge(client)
        system_id = await system_id_of(client, badge)
        await subscribe(client, badge)
        recipient = email()
        instance = await award(client, badge, recipient, comment="Bravo")
        (data,) = await events.wait("badge.awarded", system_id)
        shown = (await client.get(badge)).body["badge"]
        shown.pop("milestones")  # only a single badge's GET shows them
        assertion = await client.get(
            instance["assertionUrl"].removeprefix(client.base_url), sign=False
        )
        assert data == {
            "system": badge.split("/")[2],
            "uid": instance["slug"],
            "badge": shown,
            "email": recipient,
            "assertionUrl": instance["assertionUrl"],
            "openBadgeCredentialUrl": instance["openBadgeCredentialUrl"],
            "issuedOn": int(datetime.fromisoformat(instance["issuedOn"]).timestamp()),
            "comment": "Bravo",
            "credential": None,  # an award of a credential badge names its credential here
            # What its Open Badges 3.0 credential holds beside: the salt of its assertion.
            "salt": assertion.body["recipient"]["salt"],
            "expires": None,
            "evidence": None,
            "narrative": None,
        }

        async def delivered() -> bool:
            return "badge.awarded" in await inbox_types(stack, system_id)

        await eventually(delivered, "badge.awarded in the webhooks inbox")

    async def test_revoke_emits_badge_revoked(
        self, client: Client, stack: Stack, events: EventTap
    ) -> None:
        badge = await make_badge(client)
        system_id = await system_id_of(client, badge)
        await subscribe(client, badge)
        recipient = email()
        instance = await award(client, badge, recipient)
        await client.delete(f"{badge}/instances/{recipient}")
        (data,) = await events.wait("badge.revoked", system_id)
        assert data["uid"] == instance["slug"]
        assert data["email"] == recipient
        assert data["badge"]["slug"] == badge.rsplit("/", 1)[1]

        async def delivered() -> bool:
            return "badge.revoked" in await inbox_types(stack, system_id)

        await eventually(delivered, "badge.revoked in the webhooks inbox")

    async def test_each_bulk_award_emits_its_event(self, client: Client, events: EventTap) -> None:
        badge = await make_badge(client)
        system_id = await system_id_of(client, badge)
        emails = [email() for _ in range(3)]
        await client.post(f"{badge}/instances/bulk", json={"emails": emails})
        found = await events.wait("badge.awarded", system_id, count=3)
        assert sorted(data["email"] for data in found) == sorted(emails)

    async def test_a_refused_award_emits_nothing(self, client: Client, events: EventTap) -> None:
        badge = await make_badge(client, unique=True)
        system_id = await system_id_of(client, badge)
        recipient = email()
        await award(client, badge, recipient)
        assert (await client.post(f"{badge}/instances", json={"email": recipient})).status == 409
        other = email()
        await award(client, badge, other)
        found = await events.wait("badge.awarded", system_id, count=2)
        assert sorted(data["email"] for data in found) == sorted([recipient, other])


class TestBothCommitModes:
    async def test_a_plain_award_and_a_coded_one_answer_alike(self, client: Client) -> None:
        """A plain award commits in one statement, one with a claim code in a transaction
        (which the handler chooses: tests/unit/badges/handlers/test_instances.py); a client
        sees the same award either way."""
        badge = await make_badge(client)
        await client.post(f"{badge}/codes", json={"code": "FAST-1"})
        plain = await award(client, badge, email())
        coded = await award(client, badge, email(), claimCode="FAST-1")
        assert set(plain) == set(coded)
        assert coded["claimCode"] == "FAST-1"
        assert plain["claimCode"] is None
