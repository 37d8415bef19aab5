"""Applications for a badge through the real gateway, RabbitMQ, badges service and Postgres:
BadgeKit's scenarios (list filters at every context level, get, 404, create, update, delete) and
the bugs fixed (the processed filter, evidence validated, reviews deleted with their application).

Also the helpers the review and milestone tests share: badges with their ids, and events seen
both on the events exchange (with their data) and in the webhooks service's inbox."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from tests.support.client import Client
from tests.support.events import subscribe, system_id_of, tap_events, wait_for_inbox
from tests.support.factories import (
    badge_body,
    created,
    make_issuer,
    make_program,
    make_system,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


# --- shared helpers -----------------------------------------------------------------------------


async def new_badge(client: Client, context: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """A new badge in `context`: its path and the badge as the API shows it."""
    badge = await created(client, f"{context}/badges", badge_body(**extra), "badge")
    return f"{context}/badges/{badge['slug']}", badge


async def apply(client: Client, badge: str, **body: Any) -> dict[str, Any]:
    """A new application for the badge at path `badge`."""
    body.setdefault("learner", "learner@example.org")
    return await created(client, f"{badge}/applications", body, "application")


def is_iso(value: str) -> bool:
    return datetime.fromisoformat(value).tzinfo is not None


# --- applications -------------------------------------------------------------------------------

EVIDENCE = [
    {"url": "https://example.org/essay", "mediaType": "link", "reflection": "My essay"},
    {"url": "https://example.org/photo.png", "mediaType": "image", "reflection": None},
]


class TestCreateApplication:
    async def test_creates_and_answers_badgekit_shape(self, client: Client) -> None:
        path, badge = await new_badge(client, await make_system(client))
        answer = await client.post(
            f"{path}/applications",
            json={
                "learner": "ada@example.org",
                "evidence": EVIDENCE,
                "assignedTo": "reviewer@example.org",
                "assignedExpiration": "2031-05-01T12:00:00Z",
            },
        )
        assert answer.status == 201, answer.body
        assert answer.body["status"] == "created"
        application = answer.body["application"]
        assert set(application) == {
            "id",
            "slug",
            "learner",
            "created",
            "assignedTo",
            "assignedExpiration",
            "badge",
            "processed",
            "evidence",
        }
        assert isinstance(application["id"], int)
        assert re.fullmatch(r"[0-9a-f]{32}", application["slug"])
        assert application["learner"] == "ada@example.org"
        assert application["assignedTo"] == "reviewer@example.org"
        assert datetime.fromisoformat(application["assignedExpiration"]) == datetime.fromisoformat(
            "2031-05-01T12:00:00+00:00"
        )
        assert is_iso(application["created"])
        assert application["processed"] is None
        assert application["badge"]["id"] == badge["id"]
        assert application["badge"]["slug"] == badge["slug"]
        assert application["evidence"] == EVIDENCE
        assert answer.headers["Location"].endswith(f"{path}/applications/{application['slug']}")

    async def test_slugs_are_generated_by_the_server(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        first = await apply(client, path, slug="chosen")
        second = await apply(client, path)
        assert first["slug"] != "chosen"
        assert first["slug"] != second["slug"]

    async def test_learner_is_required_and_must_be_an_email(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        missing = await client.post(f"{path}/applications", json={})
        assert missing.status == 400
        assert missing.body["code"] == "ValidationError"
        assert missing.body["details"] == [
            {"field": "learner", "value": "", "message": "Required field"}
        ]
        invalid = await client.post(
            f"{path}/applications", json={"learner": "nope", "assignedTo": "also-nope"}
        )
        assert invalid.status == 400
        assert {(d["field"], d["message"]) for d in invalid.body["details"]} == {
            ("learner", "Invalid email"),
            ("assignedTo", "Invalid email"),
        }

    async def test_evidence_items_are_validated(self, client: Client) -> None:
        """BadgeKit stored evidence without validating it."""
        path, _ = await new_badge(client, await make_system(client))
        answer = await client.post(
            f"{path}/applications",
            json={
                "learner": "ada@example.org",
                "evidence": [
                    {"url": "javascript:alert(1)", "mediaType": "link"},
                    {"url": "https://example.org/v", "mediaType": "video"},
                    {"mediaType": "link"},
                ],
                "assignedExpiration": "not a date",
            },
        )
        assert answer.status == 400
        details = {d["field"]: d["message"] for d in answer.body["details"]}
        assert {f: m for f, m in details.items() if f != "assignedExpiration"} == {
            "evidence.0.url": "Invalid URL",
            "evidence.1.mediaType": "Value must be one of the following: image, link",
            "evidence.2": "Evidence needs a url or a reflection",
        }
        assert details["assignedExpiration"].startswith("Invalid date")

    async def test_accepts_form_bodies(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        answer = await client.post(
            f"{path}/applications",
            form={
                "learner": "form@example.org",
                "evidence[0][url]": "https://example.org/a",
                "evidence[0][mediaType]": "link",
                "evidence[0][reflection]": "From a form",
            },
        )
        assert answer.status == 201, answer.body
        assert answer.body["application"]["evidence"] == [
            {"url": "https://example.org/a", "mediaType": "link", "reflection": "From a form"}
        ]

    async def test_unknown_badge_is_not_found(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.post(
            f"{system}/badges/nope/applications", json={"learner": "a@example.org"}
        )
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find badge field: `slug`, value: `nope`",
        }

    async def test_announces_application_submitted(self, client: Client, stack: Stack) -> None:
        system = await make_system(client)
        path, _ = await new_badge(client, system)
        sid = await system_id_of(client, system)
        await subscribe(client, system)
        async with tap_events(stack) as events:
            application = await apply(client, path, evidence=EVIDENCE[:1])
            (data,) = await events.wait("application.submitted", sid)
        assert data["system"] == system.removeprefix("/systems/")
        assert data["application"] == application
        await wait_for_inbox(stack, sid, "application.submitted", 1)


class TestListApplications:
    async def test_lists_a_badges_applications_in_creation_order(self, client: Client) -> None:
        system = await make_system(client)
        path, _ = await new_badge(client, system)
        other, _ = await new_badge(client, system)
        mine = [await apply(client, path, learner=f"l{n}@example.org") for n in range(3)]
        await apply(client, other)
        answer = await client.get(f"{path}/applications")
        assert answer.status == 200
        assert "pageData" not in answer.body
        assert answer.body["applications"] == mine

    async def test_processed_filter(self, client: Client) -> None:
        """`processed=true|1` keeps processed applications, `false|0` pending ones, `any` or
        nothing both (the filter is applied in SQL, not ignored)."""
        path, _ = await new_badge(client, await make_system(client))
        done = await apply(client, path, learner="done@example.org")
        pending = await apply(client, path, learner="pending@example.org")
        marked = await client.put(f"{path}/applications/{done['slug']}", json={"processed": True})
        assert marked.status == 200

        async def slugs(query: str) -> list[str]:
            answer = await client.get(f"{path}/applications{query}")
            assert answer.status == 200, answer.body
            return [item["slug"] for item in answer.body["applications"]]

        both = [done["slug"], pending["slug"]]
        assert await slugs("?processed=true") == [done["slug"]]
        assert await slugs("?processed=1") == [done["slug"]]
        assert await slugs("?processed=false") == [pending["slug"]]
        assert await slugs("?processed=0") == [pending["slug"]]
        assert await slugs("?processed=any") == both
        assert await slugs("") == both

    async def test_invalid_processed_is_an_invalid_parameter(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        for listed in (f"{path}/applications", path.rsplit("/badges/", 1)[0] + "/applications"):
            answer = await client.get(f"{listed}?processed=maybe")
            assert answer.status == 400
            assert answer.body["code"] == "InvalidParameter"
            assert answer.body["parameter"] == "processed"
            assert "processed" in answer.body["message"]

    async def test_email_filter(self, client: Client) -> None:
        system = await make_system(client)
        path, _ = await new_badge(client, system)
        ada = await apply(client, path, learner="ada@example.org")
        await apply(client, path, learner="bob@example.org")
        for listed in (f"{path}/applications", f"{system}/applications"):
            answer = await client.get(f"{listed}?email=ada@example.org")
            assert answer.status == 200
            assert answer.body["applications"] == [ada]

    async def test_each_context_lists_the_applications_of_its_badges_and_below(
        self, client: Client
    ) -> None:
        program = await make_program(client)
        issuer = program.rsplit("/programs/", 1)[0]
        system = issuer.rsplit("/issuers/", 1)[0]
        other_issuer = await make_issuer(client, system)
        at = {}
        for name, context in (
            ("system", system),
            ("issuer", issuer),
            ("program", program),
            ("other", other_issuer),
        ):
            path, _ = await new_badge(client, context)
            at[name] = (await apply(client, path))["slug"]

        async def listed(context: str) -> set[str]:
            answer = await client.get(f"{context}/applications")
            assert answer.status == 200, answer.body
            return {item["slug"] for item in answer.body["applications"]}

        assert await listed(system) == set(at.values())
        assert await listed(issuer) == {at["issuer"], at["program"]}
        assert await listed(program) == {at["program"]}
        assert await listed(other_issuer) == {at["other"]}

    async def test_a_system_lists_only_its_own_applications(self, client: Client) -> None:
        mine, _ = await new_badge(client, await make_system(client))
        theirs, _ = await new_badge(client, await make_system(client))
        await apply(client, theirs)
        own = await apply(client, mine)
        answer = await client.get(f"{mine.rsplit('/badges/', 1)[0]}/applications")
        assert answer.body["applications"] == [own]

    async def test_ordered_by_badge_then_creation(self, client: Client) -> None:
        system = await make_system(client)
        first, _ = await new_badge(client, system)
        second, _ = await new_badge(client, system)
        late = await apply(client, second, learner="a@example.org")
        early = await apply(client, first, learner="b@example.org")
        later = await apply(client, first, learner="c@example.org")
        answer = await client.get(f"{system}/applications")
        assert [a["slug"] for a in answer.body["applications"]] == [
            early["slug"],
            later["slug"],
            late["slug"],
        ]

    async def test_pages(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        made = [await apply(client, path, learner=f"p{n}@example.org") for n in range(5)]
        answer = await client.get(f"{path}/applications?page=2&count=2")
        assert answer.status == 200
        assert answer.body["pageData"] == {"page": 2, "count": 2, "total": 5}
        assert answer.body["applications"] == made[2:4]

    async def test_unknown_context_is_not_found(self, client: Client) -> None:
        system = await make_system(client)
        answer = await client.get(f"{system}/issuers/nope/applications")
        assert answer.status == 404
        assert answer.body["message"] == "Could not find issuer field: `slug`, value: `nope`"


class TestGetApplication:
    async def test_gets_one_with_its_badge(self, client: Client) -> None:
        program = await make_program(client)
        path, badge = await new_badge(client, program)
        application = await apply(client, path, evidence=EVIDENCE)
        answer = await client.get(f"{path}/applications/{application['slug']}")
        assert answer.status == 200
        assert answer.body == {"application": application}
        assert answer.body["application"]["badge"]["program"]["slug"] == program.rsplit("/", 1)[1]
        # The same application is reachable under every ancestor context of its badge.
        system_path = f"{program.split('/issuers/')[0]}/badges/{badge['slug']}"
        above = await client.get(f"{system_path}/applications/{application['slug']}")
        assert above.body == {"application": application}

    async def test_unknown_application_is_not_found(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        answer = await client.get(f"{path}/applications/nope")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find application field: `slug`, value: `nope`",
        }

    async def test_an_application_is_found_only_under_its_own_badge(self, client: Client) -> None:
        system = await make_system(client)
        path, _ = await new_badge(client, system)
        other, _ = await new_badge(client, system)
        application = await apply(client, path)
        answer = await client.get(f"{other}/applications/{application['slug']}")
        assert answer.status == 404


class TestUpdateApplication:
    async def test_partial_update_keeps_the_rest(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(
            client, path, evidence=EVIDENCE, assignedTo="reviewer@example.org"
        )
        url = f"{path}/applications/{application['slug']}"
        answer = await client.put(
            url, json={"learner": "new@example.org", "slug": "hijack", "id": 1, "badgeId": 1}
        )
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        updated = answer.body["application"]
        assert updated == {**application, "learner": "new@example.org"}
        assert (await client.get(url)).body == {"application": updated}

    async def test_processed_true_stamps_it_and_false_clears_it(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path)
        url = f"{path}/applications/{application['slug']}"
        stamped = (await client.put(url, json={"processed": "true"})).body["application"]
        assert is_iso(stamped["processed"])
        assert datetime.fromisoformat(stamped["processed"]) >= datetime.fromisoformat(
            application["created"]
        )
        again = (await client.put(url, form={"processed": "1"})).body["application"]
        assert again["processed"] == stamped["processed"]
        cleared = (await client.put(url, json={"processed": False})).body["application"]
        assert cleared["processed"] is None

    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("2026-12-04T17:04:04Z", "2026-12-04T17:04:04+00:00"),
            ("2026-12-04", "2026-12-04T00:00:00+00:00"),
            (1796403844, "2026-12-04T17:04:04+00:00"),
        ],
    )
    async def test_processed_and_expiration_take_any_date(
        self, client: Client, given: Any, stored: str
    ) -> None:
        """As BadgeKit, which took any date its validator accepted (the web app sends ISO)."""
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path)
        url = f"{path}/applications/{application['slug']}"
        answer = await client.put(url, json={"processed": given, "assignedExpiration": given})
        assert answer.status == 200, answer.body
        updated = answer.body["application"]
        for field in ("processed", "assignedExpiration"):
            assert datetime.fromisoformat(updated[field]) == datetime.fromisoformat(stored)
        again = await client.put(url, form={"processed": "true"})
        assert again.body["application"]["processed"] == updated["processed"]

    async def test_evidence_is_replaced_only_when_given(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path, evidence=EVIDENCE)
        url = f"{path}/applications/{application['slug']}"
        kept = await client.put(url, json={"assignedTo": "r@example.org"})
        assert kept.body["application"]["evidence"] == EVIDENCE
        replacement = [{"url": "https://example.org/new", "mediaType": "link", "reflection": "x"}]
        replaced = await client.put(url, json={"evidence": replacement})
        assert replaced.body["application"]["evidence"] == replacement
        emptied = await client.put(url, json={"evidence": []})
        assert emptied.body["application"]["evidence"] == []

    async def test_assignment_can_be_cleared(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(
            client, path, assignedTo="r@example.org", assignedExpiration="2031-01-01"
        )
        url = f"{path}/applications/{application['slug']}"
        answer = await client.put(url, json={"assignedTo": None, "assignedExpiration": None})
        assert answer.body["application"]["assignedTo"] is None
        assert answer.body["application"]["assignedExpiration"] is None

    async def test_invalid_update(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path)
        url = f"{path}/applications/{application['slug']}"
        answer = await client.put(
            url, json={"learner": None, "processed": "maybe", "evidence": [{"url": "x"}]}
        )
        assert answer.status == 400
        assert {d["field"] for d in answer.body["details"]} == {
            "learner",
            "processed",
            "evidence.0.url",
        }
        assert (await client.get(url)).body == {"application": application}

    async def test_unknown_application_is_not_found(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        answer = await client.put(f"{path}/applications/nope", json={"processed": True})
        assert answer.status == 404


class TestDeleteApplication:
    async def test_deletes_and_answers_the_application(self, client: Client) -> None:
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path, evidence=EVIDENCE)
        url = f"{path}/applications/{application['slug']}"
        answer = await client.delete(url)
        assert answer.status == 200
        assert answer.body == {"status": "deleted", "application": application}
        assert (await client.get(url)).status == 404
        assert (await client.delete(url)).status == 404

    async def test_removes_its_evidence_and_reviews(self, client: Client, stack: Stack) -> None:
        """BadgeKit deleted the evidence but left the reviews behind."""
        path, _ = await new_badge(client, await make_system(client))
        application = await apply(client, path, evidence=EVIDENCE)
        url = f"{path}/applications/{application['slug']}"
        await created(client, f"{url}/reviews", {"author": "r@example.org"}, "review")
        assert (await client.delete(url)).status == 200
        conn = await asyncpg.connect(stack.isolation.database_url)
        try:
            left = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM badges.reviews WHERE application_id = $1) AS r,"
                " (SELECT count(*) FROM badges.evidence WHERE application_id = $1) AS e",
                application["id"],
            )
        finally:
            await conn.close()
        assert (left["r"], left["e"]) == (0, 0)

    async def test_deleting_the_badge_deletes_its_applications(self, client: Client) -> None:
        system = await make_system(client)
        path, _ = await new_badge(client, system)
        await apply(client, path)
        assert (await client.delete(path)).status == 200
        assert (await client.get(f"{system}/applications")).body["applications"] == []


class TestConsumerKeys:
    async def test_a_consumer_key_reaches_its_own_systems_applications(
        self, client: Client
    ) -> None:
        system = await make_system(client)
        other = await make_system(client)
        path, _ = await new_badge(client, system)
        key = await created(client, f"{system}/consumers", {}, "consumer")
        consumer = client.as_key(key["apiKey"], key["apiSecret"])
        application = await apply(consumer, path)
        listed = await consumer.get(f"{system}/applications")
        assert listed.body["applications"] == [application]
        assert (await consumer.get(f"{other}/applications")).status == 403
