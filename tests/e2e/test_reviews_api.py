"""Reviews of an application through the real stack: BadgeKit's scenarios (list, get, 404, create,
update, delete), the `application.reviewed` event and its `approved` verdict, and the bugs fixed
(PUT keeps omitted review items, DELETE answers under `review`, criteria are the badge's own)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_applications_api import apply, new_badge
from tests.support.client import Client
from tests.support.events import subscribe, system_id_of, tap_events, wait_for_inbox
from tests.support.factories import created, make_system
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CRITERIA = [
    {"description": "Read twenty books", "required": True},
    {"description": "Wrote about one of them", "required": False},
]


class Setting:
    """A system, a badge with one required and one optional criterion, an application."""

    def __init__(self, system: str, badge: dict[str, Any], application: dict[str, Any]) -> None:
        self.system = system
        self.badge = badge
        self.application = application
        ids = [criterion["id"] for criterion in badge["criteria"]]
        # In CRITERIA order: the required one first, the optional one last.
        self.required, self.optional = ids[0], ids[-1]

    @property
    def reviews(self) -> str:
        badge, application = self.badge["slug"], self.application["slug"]
        return f"{self.system}/badges/{badge}/applications/{application}/reviews"


async def setting(client: Client, criteria: list[dict[str, Any]] = CRITERIA) -> Setting:
    system = await make_system(client)
    path, badge = await new_badge(client, system, criteria=criteria)
    return Setting(system, badge, await apply(client, path))


async def review(client: Client, at: Setting, **body: Any) -> dict[str, Any]:
    body.setdefault("author", "reviewer@example.org")
    return await created(client, at.reviews, body, "review")


class TestCreateReview:
    async def test_creates_and_answers_badgekit_shape(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.post(
            at.reviews,
            json={
                "author": "reviewer@example.org",
                "comment": "Well done",
                "reviewItems": [
                    {"criterionId": at.required, "satisfied": True, "comment": "Yes"},
                    {"criterionId": at.optional, "satisfied": "0"},
                ],
            },
        )
        assert answer.status == 201, answer.body
        assert answer.body["status"] == "created"
        created_review = answer.body["review"]
        assert set(created_review) == {"id", "slug", "author", "comment", "reviewItems"}
        assert created_review["author"] == "reviewer@example.org"
        assert created_review["comment"] == "Well done"
        assert created_review["reviewItems"] == [
            {"criterionId": at.required, "satisfied": 1, "comment": "Yes"},
            {"criterionId": at.optional, "satisfied": 0, "comment": None},
        ]
        assert answer.headers["Location"].endswith(f"/reviews/{created_review['slug']}")

    async def test_satisfied_takes_badgekit_spellings(self, client: Client) -> None:
        at = await setting(client)
        for given, shown in ((1, 1), ("true", 1), ("1", 1), (False, 0), ("false", 0), (0, 0)):
            made = await review(
                client, at, reviewItems=[{"criterionId": at.required, "satisfied": given}]
            )
            assert made["reviewItems"][0]["satisfied"] == shown, given

    async def test_author_is_required_and_must_be_an_email(self, client: Client) -> None:
        at = await setting(client)
        missing = await client.post(at.reviews, json={"comment": "no author"})
        assert missing.status == 400
        assert missing.body["details"] == [
            {"field": "author", "value": "", "message": "Required field"}
        ]
        invalid = await client.post(at.reviews, json={"author": "nope"})
        assert invalid.body["details"] == [
            {"field": "author", "value": "nope", "message": "Invalid email"}
        ]

    async def test_review_items_are_validated(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.post(
            at.reviews,
            json={"author": "r@example.org", "reviewItems": [{"satisfied": "perhaps"}]},
        )
        assert answer.status == 400
        assert {d["field"] for d in answer.body["details"]} == {
            "reviewItems.0.criterionId",
            "reviewItems.0.satisfied",
        }

    async def test_criteria_must_be_the_applications_badges_own(self, client: Client) -> None:
        at = await setting(client)
        elsewhere = await setting(client)
        answer = await client.post(
            at.reviews,
            json={
                "author": "r@example.org",
                "reviewItems": [
                    {"criterionId": at.required, "satisfied": True},
                    {"criterionId": elsewhere.required, "satisfied": True},
                    {"criterionId": at.required, "satisfied": False},
                ],
            },
        )
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert answer.body["details"] == [
            {
                "field": "reviewItems.1.criterionId",
                "value": elsewhere.required,
                "message": "Not a criterion of the application's badge",
            },
            {
                "field": "reviewItems.2.criterionId",
                "value": at.required,
                "message": "This criterion is already reviewed in this review",
            },
        ]
        assert (await client.get(at.reviews)).body["reviews"] == []

    async def test_unknown_application_is_not_found(self, client: Client) -> None:
        at = await setting(client)
        url = at.reviews.replace(at.application["slug"], "nope")
        answer = await client.post(url, json={"author": "r@example.org"})
        assert answer.status == 404
        assert answer.body["message"] == "Could not find application field: `slug`, value: `nope`"


class TestReviewedEvent:
    async def test_approved_when_every_required_criterion_is_satisfied(
        self, client: Client, stack: Stack
    ) -> None:
        at = await setting(client)
        sid = await system_id_of(client, at.system)
        await subscribe(client, at.system)
        async with tap_events(stack) as events:
            made = await review(
                client,
                at,
                reviewItems=[
                    {"criterionId": at.required, "satisfied": True},
                    {"criterionId": at.optional, "satisfied": False},
                ],
            )
            (data,) = await events.wait("application.reviewed", sid)
        assert data["approved"] is True
        assert data["system"] == at.system.removeprefix("/systems/")
        assert data["review"] == made
        assert data["application"] == at.application
        await wait_for_inbox(stack, sid, "application.reviewed", 1)

    async def test_not_approved_while_a_required_criterion_is_unsatisfied(
        self, client: Client, stack: Stack
    ) -> None:
        at = await setting(client)
        sid = await system_id_of(client, at.system)
        async with tap_events(stack) as events:
            await review(client, at, reviewItems=[{"criterionId": at.optional, "satisfied": 1}])
            await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 0}])
            verdicts = await events.wait("application.reviewed", sid, count=2)
        assert [data["approved"] for data in verdicts] == [False, False]

    async def test_approved_when_no_criterion_is_required(
        self, client: Client, stack: Stack
    ) -> None:
        at = await setting(client, criteria=[{"description": "Optional", "required": False}])
        sid = await system_id_of(client, at.system)
        async with tap_events(stack) as events:
            await review(client, at)
            (data,) = await events.wait("application.reviewed", sid)
        assert data["approved"] is True

    async def test_an_update_announces_the_new_verdict(self, client: Client, stack: Stack) -> None:
        at = await setting(client)
        sid = await system_id_of(client, at.system)
        made = await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 0}])
        async with tap_events(stack) as events:
            answer = await client.put(
                f"{at.reviews}/{made['slug']}",
                json={"reviewItems": [{"criterionId": at.required, "satisfied": 1}]},
            )
            assert answer.status == 200
            (data,) = await events.wait("application.reviewed", sid)
        assert data["approved"] is True
        assert data["review"] == answer.body["review"]

    async def test_approval_awards_nothing(self, client: Client, stack: Stack) -> None:
        """As in BadgeKit, the subscriber decides and calls back to award."""
        at = await setting(client)
        sid = await system_id_of(client, at.system)
        async with tap_events(stack) as events:
            await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 1}])
            await events.wait("application.reviewed", sid)
        assert events.of("badge.awarded", sid) == []
        application = await client.get(at.reviews.rsplit("/reviews", 1)[0])
        assert application.body["application"]["processed"] is None


class TestReadReviews:
    async def test_lists_an_applications_reviews(self, client: Client) -> None:
        at = await setting(client)
        other = await setting(client)
        made = [await review(client, at, author=f"r{n}@example.org") for n in range(3)]
        await review(client, other)
        answer = await client.get(at.reviews)
        assert answer.status == 200
        assert answer.body == {"reviews": made}

    async def test_pages(self, client: Client) -> None:
        at = await setting(client)
        made = [await review(client, at, author=f"r{n}@example.org") for n in range(3)]
        answer = await client.get(f"{at.reviews}?page=2&count=2")
        assert answer.body == {"reviews": made[2:], "pageData": {"page": 2, "count": 2, "total": 3}}

    async def test_gets_one(self, client: Client) -> None:
        at = await setting(client)
        made = await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 1}])
        answer = await client.get(f"{at.reviews}/{made['slug']}")
        assert answer.status == 200
        assert answer.body == {"review": made}

    async def test_unknown_review_is_not_found(self, client: Client) -> None:
        at = await setting(client)
        answer = await client.get(f"{at.reviews}/nope")
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": "Could not find review field: `slug`, value: `nope`",
        }

    async def test_a_review_is_found_only_under_its_own_application(self, client: Client) -> None:
        at = await setting(client)
        made = await review(client, at)
        path = f"{at.system}/badges/{at.badge['slug']}"
        other = await apply(client, path, learner="other@example.org")
        url = f"{path}/applications/{other['slug']}/reviews/{made['slug']}"
        assert (await client.get(url)).status == 404


class TestUpdateReview:
    async def test_omitted_review_items_are_kept(self, client: Client) -> None:
        """BadgeKit deleted every item of a review updated without `reviewItems`."""
        at = await setting(client)
        items = [
            {"criterionId": at.required, "satisfied": True, "comment": "Good"},
            {"criterionId": at.optional, "satisfied": False},
        ]
        made = await review(client, at, reviewItems=items)
        answer = await client.put(f"{at.reviews}/{made['slug']}", json={"comment": "Revised"})
        assert answer.status == 200
        assert answer.body["status"] == "updated"
        assert answer.body["review"] == {**made, "comment": "Revised"}
        assert (await client.get(f"{at.reviews}/{made['slug']}")).body["review"] == answer.body[
            "review"
        ]

    async def test_given_review_items_replace_the_old(self, client: Client) -> None:
        at = await setting(client)
        made = await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 0}])
        url = f"{at.reviews}/{made['slug']}"
        replaced = await client.put(
            url, json={"reviewItems": [{"criterionId": at.optional, "satisfied": 1}]}
        )
        assert replaced.body["review"]["reviewItems"] == [
            {"criterionId": at.optional, "satisfied": 1, "comment": None}
        ]
        emptied = await client.put(url, json={"reviewItems": []})
        assert emptied.body["review"]["reviewItems"] == []

    async def test_slug_and_id_never_change(self, client: Client) -> None:
        at = await setting(client)
        made = await review(client, at)
        answer = await client.put(
            f"{at.reviews}/{made['slug']}",
            json={"slug": "hijack", "id": 1, "author": "new@example.org"},
        )
        assert answer.body["review"] == {**made, "author": "new@example.org"}

    async def test_invalid_update(self, client: Client) -> None:
        at = await setting(client)
        made = await review(client, at)
        url = f"{at.reviews}/{made['slug']}"
        answer = await client.put(
            url,
            json={"author": None, "reviewItems": [{"criterionId": 0, "satisfied": True}]},
        )
        assert answer.status == 400
        assert {d["field"] for d in answer.body["details"]} == {"author"}
        foreign = await client.put(url, json={"reviewItems": [{"criterionId": 0, "satisfied": 1}]})
        assert foreign.status == 400
        assert foreign.body["details"][0]["field"] == "reviewItems.0.criterionId"
        assert (await client.get(url)).body == {"review": made}


class TestDeleteReview:
    async def test_answers_the_review_under_review(self, client: Client) -> None:
        """BadgeKit answered `{status: "deleted", badge: <review>}`."""
        at = await setting(client)
        made = await review(client, at, reviewItems=[{"criterionId": at.required, "satisfied": 1}])
        url = f"{at.reviews}/{made['slug']}"
        answer = await client.delete(url)
        assert answer.status == 200
        assert answer.body == {"status": "deleted", "review": made}
        assert (await client.get(url)).status == 404
        assert (await client.get(at.reviews)).body["reviews"] == []
