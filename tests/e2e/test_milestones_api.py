"""Milestones through the real stack: BadgeKit's scenarios (list, get, 404, create, update, add and
remove a badge, delete), the bugs fixed (PUT keeps omitted support badges and validates, badges of
another system refused), and the auto-award on every award (the event names the primary badge;
`queue-application` queues an application)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.test_applications_api import new_badge
from tests.support.client import Client
from tests.support.events import subscribe, system_id_of, tap_events, wait_for_inbox
from tests.support.factories import created, make_issuer, make_system
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


class Setting:
    """A system with a primary badge and three support badges."""

    def __init__(self, system: str, primary: tuple[str, dict[str, Any]]) -> None:
        self.system = system
        self.primary_path, self.primary = primary
        self.support: list[tuple[str, dict[str, Any]]] = []

    @property
    def milestones(self) -> str:
        return f"{self.system}/milestones"

    def support_ids(self, count: int = 3) -> list[int]:
        return [badge["id"] for _, badge in self.support[:count]]

    def body(self, **extra: Any) -> dict[str, Any]:
        return {
            "primaryBadgeId": self.primary["id"],
            "numberRequired": 2,
            "supportBadges": self.support_ids(),
            **extra,
        }


async def setting(client: Client, **primary: Any) -> Setting:
    system = await make_system(client)
    made = Setting(system, await new_badge(client, system, **primary))
    made.support = [await new_badge(client, system) for _ in range(3)]
    return made


async def milestone(client: Client, at: Setting, **extra: Any) -> dict[str, Any]:
    return await created(client, at.milestones, at.body(**extra), "milestone")


def badge_ids(shown: dict[str, Any]) -> tuple[int | None, list[int]]:
    primary = shown["primaryBadge"]
    return (primary["id"] if primary else None), [b["id"] for b in shown["supportBadges"]]


class TestCreateMilestone:
    async def test_creates_and_answers_badgekit_shape(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.post(at.milestones, json=at.body(action="issue"))
        assert answer.status == 201, answer.body
        assert answer.body["status"] == "created"
        made = answer.body["milestone"]
        assert set(made) == {"id", "action", "numberRequired", "primaryBadge", "supportBadges"}
        assert isinstance(made["id"], int)
        assert made["action"] == "issue"
        assert made["numberRequired"] == 2
        assert made["primaryBadge"]["slug"] == at.primary["slug"]
        assert badge_ids(made) == (at.primary["id"], at.support_ids())
        assert answer.headers["Location"].endswith(f"{at.milestones}/{made['id']}")

    async def test_action_defaults_to_issue(self, client: Client) -> None:
        at = await setting(client)
        body = at.body()
        assert (await created(client, at.milestones, body, "milestone"))["action"] == "issue"

    async def test_accepts_form_bodies(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.post(
            at.milestones,
            form={
                "primaryBadgeId": str(at.primary["id"]),
                "numberRequired": "1",
                "action": "queue-application",
                "supportBadges": [str(i) for i in at.support_ids(2)],
            },
        )
        assert answer.status == 201, answer.body
        assert answer.body["milestone"]["action"] == "queue-application"
        assert badge_ids(answer.body["milestone"])[1] == at.support_ids(2)

    async def test_fields_are_validated(self, client: Client) -> None:
        at = await setting(client)
        missing = await client.post(at.milestones, json={})
        assert missing.status == 400
        assert {(d["field"], d["message"]) for d in missing.body["details"]} == {
            ("primaryBadgeId", "Required field"),
            ("numberRequired", "Required field"),
            ("supportBadges", "Required field"),
        }
        invalid = await client.post(
            at.milestones,
            json={
                "primaryBadgeId": "first",
                "numberRequired": 0,
                "action": "award",
                "supportBadges": [],
            },
        )
        assert invalid.status == 400
        details = {d["field"]: d for d in invalid.body["details"]}
        assert set(details) == {"primaryBadgeId", "numberRequired", "action", "supportBadges"}
        assert details["action"] == {
            "field": "action",
            "value": "award",
            "message": "Value must be one of the following: issue, queue-application",
        }

    async def test_badges_of_another_system_are_refused(self, client: Client) -> None:
        """BadgeKit accepted any badge id, another tenant's included."""
        at = await setting(client)
        _, foreign = await new_badge(client, await make_system(client))
        answer = await client.post(
            at.milestones,
            json=at.body(
                primaryBadgeId=foreign["id"], supportBadges=[at.support_ids()[0], foreign["id"], 0]
            ),
        )
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert answer.body["details"] == [
            {
                "field": "primaryBadgeId",
                "value": foreign["id"],
                "message": "Not a badge of this system",
            },
            {
                "field": "supportBadges.1",
                "value": foreign["id"],
                "message": "Not a badge of this system",
            },
            {"field": "supportBadges.2", "value": 0, "message": "Not a badge of this system"},
        ]
        assert (await client.get(at.milestones)).body["milestones"] == []

    async def test_badges_of_the_systems_issuers_and_programs_are_its_own(
        self, client: Client
    ) -> None:
        at = await setting(client)
        issuer = await make_issuer(client, at.system)
        _, below = await new_badge(client, issuer)
        made = await milestone(client, at, supportBadges=[below["id"]], numberRequired=1)
        assert badge_ids(made)[1] == [below["id"]]

    async def test_unknown_system_is_not_found(self, client: Client) -> None:
        body = {"primaryBadgeId": 1, "numberRequired": 1, "supportBadges": [2]}
        answer = await client.post("/systems/nope/milestones", json=body)
        assert answer.status == 404
        assert answer.body["message"] == "Could not find system field: `slug`, value: `nope`"


class TestReadMilestones:
    async def test_lists_a_systems_milestones(self, client: Client) -> None:
        at = await setting(client)
        other = await setting(client)
        made = [await milestone(client, at, numberRequired=n) for n in (1, 2, 3)]
        await milestone(client, other)
        answer = await client.get(at.milestones)
        assert answer.status == 200
        assert answer.body == {"milestones": made}
        paged = await client.get(f"{at.milestones}?page=1&count=2")
        assert paged.body == {
            "milestones": made[:2],
            "pageData": {"page": 1, "count": 2, "total": 3},
        }

    async def test_gets_one(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        answer = await client.get(f"{at.milestones}/{made['id']}")
        assert answer.status == 200
        assert answer.body == {"milestone": made}

    @pytest.mark.parametrize("wrong", ["999999999", "x", "1.5", "99999999999999999999999"])
    async def test_unknown_milestone_is_not_found(self, client: Client, wrong: str) -> None:
        system = await make_system(client)
        answer = await client.get(f"{system}/milestones/{wrong}")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": f"Could not find milestone field: `id`, value: `{wrong}`",
        }

    async def test_another_systems_milestone_is_not_found(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        other = await make_system(client)
        for answer in (
            await client.get(f"{other}/milestones/{made['id']}"),
            await client.put(f"{other}/milestones/{made['id']}", json={"numberRequired": 1}),
            await client.delete(f"{other}/milestones/{made['id']}"),
        ):
            assert answer.status == 404
        assert (await client.get(f"{at.milestones}/{made['id']}")).body == {"milestone": made}

    async def test_a_badge_shows_the_milestones_it_is_the_primary_badge_of(
        self, client: Client
    ) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        primary = await client.get(at.primary_path)
        assert primary.body["badge"]["milestones"] == [made]
        support = await client.get(at.support[0][0])
        assert support.body["badge"]["milestones"] == []


class TestUpdateMilestone:
    async def test_omitted_support_badges_are_kept(self, client: Client) -> None:
        """BadgeKit deleted every support badge of a milestone updated without them."""
        at = await setting(client)
        made = await milestone(client, at)
        url = f"{at.milestones}/{made['id']}"
        answer = await client.put(url, json={"numberRequired": 3, "action": "queue-application"})
        assert answer.status == 200, answer.body
        assert answer.body["status"] == "updated"
        assert answer.body["milestone"] == {
            **made,
            "numberRequired": 3,
            "action": "queue-application",
        }
        assert (await client.get(url)).body == {"milestone": answer.body["milestone"]}

    async def test_given_support_badges_replace_the_old(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        url = f"{at.milestones}/{made['id']}"
        answer = await client.put(url, json={"supportBadges": [at.support_ids()[2]]})
        assert badge_ids(answer.body["milestone"]) == (at.primary["id"], [at.support_ids()[2]])

    async def test_updates_are_validated(self, client: Client) -> None:
        """BadgeKit validated nothing on PUT."""
        at = await setting(client)
        made = await milestone(client, at)
        url = f"{at.milestones}/{made['id']}"
        invalid = await client.put(
            url,
            json={
                "numberRequired": 0,
                "action": "award",
                "supportBadges": [],
                "primaryBadgeId": None,
            },
        )
        assert invalid.status == 400
        assert {d["field"] for d in invalid.body["details"]} == {
            "numberRequired",
            "action",
            "supportBadges",
            "primaryBadgeId",
        }
        _, foreign = await new_badge(client, await make_system(client))
        cross = await client.put(url, json={"primaryBadgeId": foreign["id"]})
        assert cross.status == 400
        assert cross.body["details"] == [
            {
                "field": "primaryBadgeId",
                "value": foreign["id"],
                "message": "Not a badge of this system",
            }
        ]
        cross_support = await client.put(url, json={"supportBadges": [foreign["id"]]})
        assert cross_support.status == 400
        assert (await client.get(url)).body == {"milestone": made}

    async def test_id_and_system_never_change(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        answer = await client.put(
            f"{at.milestones}/{made['id']}", json={"id": 1, "systemId": 1, "numberRequired": 1}
        )
        assert answer.body["milestone"] == {**made, "numberRequired": 1}


class TestSupportBadges:
    async def test_add_and_remove_are_idempotent(self, client: Client) -> None:
        at = await setting(client)
        _, extra = await new_badge(client, at.system)
        made = await milestone(client, at, supportBadges=at.support_ids(2))
        url = f"{at.milestones}/{made['id']}"
        for _ in range(2):
            added = await client.post(f"{url}/add-badge", json={"badgeId": extra["id"]})
            assert added.status == 200, added.body
            assert added.body["status"] == "updated"
            assert badge_ids(added.body["milestone"])[1] == sorted(
                [*at.support_ids(2), extra["id"]]
            )
        for _ in range(2):
            removed = await client.post(
                f"{url}/remove-badge", json={"badgeId": at.support_ids()[0]}
            )
            assert removed.status == 200
            assert removed.body["status"] == "updated"
            assert badge_ids(removed.body["milestone"])[1] == sorted(
                [at.support_ids()[1], extra["id"]]
            )
        assert (await client.get(url)).body == {"milestone": removed.body["milestone"]}

    async def test_a_badge_of_another_system_cannot_be_added(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        _, foreign = await new_badge(client, await make_system(client))
        url = f"{at.milestones}/{made['id']}"
        answer = await client.post(f"{url}/add-badge", json={"badgeId": foreign["id"]})
        assert answer.status == 400
        assert answer.body["details"] == [
            {"field": "badgeId", "value": foreign["id"], "message": "Not a badge of this system"}
        ]
        assert (await client.get(url)).body == {"milestone": made}

    async def test_badge_id_is_required(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        answer = await client.post(f"{at.milestones}/{made['id']}/add-badge", json={})
        assert answer.status == 400
        assert answer.body["details"] == [
            {"field": "badgeId", "value": "", "message": "Required field"}
        ]

    async def test_unknown_milestone_is_not_found(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.post(
            f"{at.milestones}/0/add-badge", json={"badgeId": at.primary["id"]}
        )
        assert answer.status == 404


class TestDeleteMilestone:
    async def test_deletes_and_answers_the_milestone(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        url = f"{at.milestones}/{made['id']}"
        answer = await client.delete(url)
        assert answer.status == 200
        assert answer.body == {"status": "deleted", "milestone": made}
        assert (await client.get(url)).status == 404
        assert (await client.delete(url)).status == 404
        # Its badges stay.
        assert (await client.get(at.primary_path)).status == 200
        assert (await client.get(at.support[0][0])).status == 200

    async def test_deleting_its_primary_badge_deletes_the_milestone(self, client: Client) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        assert (await client.delete(at.primary_path)).status == 200
        assert (await client.get(f"{at.milestones}/{made['id']}")).status == 404

    async def test_deleting_a_support_badge_removes_it_from_the_milestone(
        self, client: Client
    ) -> None:
        at = await setting(client)
        made = await milestone(client, at)
        assert (await client.delete(at.support[0][0])).status == 200
        kept = await client.get(f"{at.milestones}/{made['id']}")
        assert badge_ids(kept.body["milestone"])[1] == at.support_ids()[1:]


# --- the auto-award (needs the award endpoint, `POST {B}/instances`) ---------------------------


async def award(client: Client, badge_path: str, email: str) -> dict[str, Any]:
    return await created(client, f"{badge_path}/instances", {"email": email}, "instance")


async def holders(client: Client, badge_path: str) -> list[str]:
    answer = await client.get(f"{badge_path}/instances")
    assert answer.status == 200, answer.body
    return [instance["email"] for instance in answer.body["instances"]]


class TestMilestoneAutoAward:
    async def test_enough_support_badges_award_the_primary_badge(
        self, client: Client, stack: Stack
    ) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=2)
        sid = await system_id_of(client, at.system)
        await subscribe(client, at.system)
        async with tap_events(stack) as events:
            await award(client, at.support[0][0], "ada@example.org")
            assert await holders(client, at.primary_path) == []
            triggering = await award(client, at.support[1][0], "ada@example.org")
            assert triggering["email"] == "ada@example.org"
            assert await holders(client, at.primary_path) == ["ada@example.org"]
            awarded = await events.wait("badge.awarded", sid, count=3)
        # BadgeKit's award webhook for a milestone named the triggering badge.
        assert [data["badge"]["id"] for data in awarded] == [
            at.support[0][1]["id"],
            at.support[1][1]["id"],
            at.primary["id"],
        ]
        assert awarded[2]["email"] == "ada@example.org"
        await wait_for_inbox(stack, sid, "badge.awarded", 3)

    async def test_fewer_support_badges_award_nothing(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=3)
        await award(client, at.support[0][0], "ada@example.org")
        await award(client, at.support[1][0], "ada@example.org")
        assert await holders(client, at.primary_path) == []

    async def test_only_the_recipients_own_badges_count(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=2)
        await award(client, at.support[0][0], "bob@example.org")
        await award(client, at.support[1][0], "ada@example.org")
        assert await holders(client, at.primary_path) == []

    async def test_a_support_badge_awarded_twice_counts_once(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=2)
        await award(client, at.support[0][0], "ada@example.org")
        await award(client, at.support[0][0], "ada@example.org")
        assert await holders(client, at.primary_path) == []

    async def test_a_held_primary_badge_is_not_awarded_again(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=1)
        await award(client, at.primary_path, "ada@example.org")
        await award(client, at.support[0][0], "ada@example.org")
        await award(client, at.support[1][0], "ada@example.org")
        assert await holders(client, at.primary_path) == ["ada@example.org"]

    async def test_revoked_support_badges_do_not_count(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=2)
        await award(client, at.support[0][0], "ada@example.org")
        revoked = await client.delete(f"{at.support[0][0]}/instances/ada@example.org")
        assert revoked.status == 200, revoked.body
        await award(client, at.support[1][0], "ada@example.org")
        assert await holders(client, at.primary_path) == []

    async def test_an_archived_primary_badge_is_skipped_without_failing_the_award(
        self, client: Client
    ) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=1)
        assert (await client.put(at.primary_path, json={"archived": True})).status == 200
        answer = await client.post(
            f"{at.support[0][0]}/instances", json={"email": "ada@example.org"}
        )
        assert answer.status == 201, answer.body
        assert await holders(client, at.support[0][0]) == ["ada@example.org"]
        assert await holders(client, at.primary_path) == []

    async def test_a_primary_badge_at_its_limit_is_skipped(self, client: Client) -> None:
        at = await setting(client, limit=1)
        await milestone(client, at, numberRequired=1)
        await award(client, at.primary_path, "first@example.org")
        answer = await client.post(
            f"{at.support[0][0]}/instances", json={"email": "ada@example.org"}
        )
        assert answer.status == 201, answer.body
        assert await holders(client, at.primary_path) == ["first@example.org"]

    async def test_milestones_chain(self, client: Client) -> None:
        """A primary badge that supports another milestone completes that one too."""
        at = await setting(client)
        top_path, top = await new_badge(client, at.system)
        await milestone(client, at, numberRequired=1, supportBadges=at.support_ids(1))
        await created(
            client,
            at.milestones,
            {"primaryBadgeId": top["id"], "numberRequired": 1, "supportBadges": [at.primary["id"]]},
            "milestone",
        )
        await award(client, at.support[0][0], "ada@example.org")
        assert await holders(client, at.primary_path) == ["ada@example.org"]
        assert await holders(client, top_path) == ["ada@example.org"]

    async def test_a_badge_awarded_down_a_chain_is_not_awarded_twice(self, client: Client) -> None:
        """S completes M1 (-> P1) and M2 (-> P2); P1 completes M3 (-> P2) first."""
        at = await setting(client)
        second_path, second = await new_badge(client, at.system)
        support = at.support_ids(1)
        await milestone(client, at, numberRequired=1, supportBadges=support)
        await milestone(
            client, at, primaryBadgeId=second["id"], numberRequired=1, supportBadges=support
        )
        await milestone(
            client,
            at,
            primaryBadgeId=second["id"],
            numberRequired=1,
            supportBadges=[at.primary["id"]],
        )
        await award(client, at.support[0][0], "ada@example.org")
        assert await holders(client, at.primary_path) == ["ada@example.org"]
        assert await holders(client, second_path) == ["ada@example.org"]

    async def test_support_badges_awarded_at_once_award_the_primary_badge_once(
        self, client: Client
    ) -> None:
        """Concurrent awards to one recipient neither miss the milestone they complete together
        nor meet it twice."""
        at = await setting(client)
        await milestone(client, at, numberRequired=3)
        recipients = [f"r{n}@example.org" for n in range(8)]
        answers = await asyncio.gather(
            *(
                client.post(f"{path}/instances", json={"email": email})
                for email in recipients
                for path, _ in at.support
            )
        )
        assert {answer.status for answer in answers} == {201}
        assert sorted(await holders(client, at.primary_path)) == recipients

    async def test_mutual_milestones_terminate(self, client: Client) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=1, supportBadges=at.support_ids(1))
        await created(
            client,
            at.milestones,
            {
                "primaryBadgeId": at.support[0][1]["id"],
                "numberRequired": 1,
                "supportBadges": [at.primary["id"]],
            },
            "milestone",
        )
        await award(client, at.support[0][0], "ada@example.org")
        assert await holders(client, at.primary_path) == ["ada@example.org"]
        assert await holders(client, at.support[0][0]) == ["ada@example.org"]

    async def test_queue_application_queues_an_application_once(
        self, client: Client, stack: Stack
    ) -> None:
        """BadgeKit stored this action and ignored it (it always awarded)."""
        at = await setting(client)
        await milestone(client, at, numberRequired=1, action="queue-application")
        sid = await system_id_of(client, at.system)
        await subscribe(client, at.system)
        async with tap_events(stack) as events:
            await award(client, at.support[0][0], "ada@example.org")
            await award(client, at.support[1][0], "ada@example.org")
            (submitted,) = await events.wait("application.submitted", sid)
        assert await holders(client, at.primary_path) == []
        listed = await client.get(f"{at.primary_path}/applications")
        (application,) = listed.body["applications"]
        assert application["learner"] == "ada@example.org"
        assert application["processed"] is None
        assert application["badge"]["id"] == at.primary["id"]
        assert submitted["application"] == application
        await wait_for_inbox(stack, sid, "application.submitted", 1)

    async def test_queue_application_again_once_the_last_one_is_processed(
        self, client: Client
    ) -> None:
        at = await setting(client)
        await milestone(client, at, numberRequired=1, action="queue-application")
        await award(client, at.support[0][0], "ada@example.org")
        (first,) = (await client.get(f"{at.primary_path}/applications")).body["applications"]
        url = f"{at.primary_path}/applications/{first['slug']}"
        assert (await client.put(url, json={"processed": True})).status == 200
        await award(client, at.support[1][0], "ada@example.org")
        pending = await client.get(f"{at.primary_path}/applications?processed=false")
        assert [a["learner"] for a in pending.body["applications"]] == ["ada@example.org"]


class TestAwardLockOrder:
    async def test_direct_and_milestone_awards_of_a_limited_badge_never_deadlock(
        self, client: Client
    ) -> None:
        """P has a limit and is both a milestone's primary badge (after S) and another's support
        badge (for Q): awarding S and P to one email at once takes the recipient's and P's locks
        from both sides; they must be taken in one order."""
        system = await make_system(client)
        support, s = await new_badge(client, system)
        primary, p = await new_badge(client, system, limit=1000)
        _, q = await new_badge(client, system)
        for primary_id, support_id in ((p["id"], s["id"]), (q["id"], p["id"])):
            body = {
                "primaryBadgeId": primary_id,
                "numberRequired": 1,
                "supportBadges": [support_id],
            }
            await created(client, f"{system}/milestones", body, "milestone")

        async def both(n: int) -> list[int]:
            recipient = {"email": f"lock-{n}@example.org"}
            answers = await asyncio.gather(
                client.post(f"{support}/instances", json=recipient),
                client.post(f"{primary}/instances", json=recipient),
            )
            return [answer.status for answer in answers]

        statuses = [
            status
            for pair in await asyncio.gather(*(both(n) for n in range(15)))
            for status in pair
        ]
        assert 500 not in statuses
        assert set(statuses) <= {201, 409}
