"""Reviews (services/badges/handlers/reviews.py): items only of the badge's criteria, each
review announced with whether it approves the application, items replaced only when given, and
nothing awarded. Run on an in-memory repository (fakes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from services.badges.deps import Deps
from services.badges.handlers import reviews as handlers
from shared.errors import NotFound, ValidationFailed
from shared.messages.applications import (
    ApplicationPath,
    CreateReview,
    DeleteReview,
    ReviewChanges,
    ReviewFields,
    UpdateReview,
)
from shared.messages.common import Scope
from tests.unit.badges.fakes import FakeRepository, Row, emitted, event, request_context

REVIEWER = "reviewer@example.org"


@pytest.fixture
def badge(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    return repo.add_badge(system["id"], "reader")


@pytest.fixture
def criteria(repo: FakeRepository, badge: Row) -> tuple[int, int]:
    """A required criterion and an optional one."""
    return repo.add_criterion(badge), repo.add_criterion(badge, required=False)


@pytest.fixture
def application(repo: FakeRepository, badge: Row) -> Row:
    return repo.add_application(badge["id"], "ada@example.org")


def at(application: Row) -> ApplicationPath:
    return ApplicationPath(
        scope=Scope(system="chicago"), badge="reader", application=application["slug"]
    )


def create(application: Row, items: list[dict[str, Any]]) -> CreateReview:
    review = ReviewFields.model_validate({"author": REVIEWER, "reviewItems": items})
    return CreateReview(at=at(application), review=review)


class TestCreateReview:
    @pytest.mark.parametrize(("satisfied", "approved"), [(True, True), (False, False)])
    async def test_announced_with_whether_it_approves(
        self,
        deps: Deps,
        repo: FakeRepository,
        criteria: tuple[int, int],
        application: Row,
        satisfied: bool,
        approved: bool,
    ) -> None:
        required, optional = criteria
        cmd = create(
            application,
            [
                {"criterionId": required, "satisfied": satisfied},
                {"criterionId": optional, "satisfied": False},
            ],
        )
        ctx = request_context(deps, cmd)

        review = await handlers.create_review(cmd, ctx)

        [stored] = repo.tables.reviews.values()
        assert review["slug"] == stored["slug"]
        assert [item["criterionId"] for item in review["reviewItems"]] == [required, optional]
        assert emitted(ctx) == ["application.reviewed"]
        reviewed = event(ctx, "application.reviewed")
        assert (reviewed["approved"], reviewed["review"]) == (approved, review)
        assert reviewed["application"]["slug"] == application["slug"]
        assert repo.tables.instances == {}

    async def test_items_of_other_criteria_are_refused_before_writing(
        self, deps: Deps, repo: FakeRepository, criteria: tuple[int, int], application: Row
    ) -> None:
        required, _ = criteria
        cmd = create(
            application,
            [{"criterionId": required, "satisfied": True}, {"criterionId": 999, "satisfied": True}],
        )
        ctx = request_context(deps, cmd)

        with pytest.raises(ValidationFailed) as refused:
            await handlers.create_review(cmd, ctx)
        assert [detail["field"] for detail in refused.value.details] == [
            "reviewItems.1.criterionId"
        ]
        assert repo.tables.reviews == {}
        assert ctx.events == []

    async def test_an_unknown_application_is_a_404(
        self, deps: Deps, badge: Row, criteria: tuple[int, int]
    ) -> None:
        cmd = create({"slug": "nope"}, [])
        with pytest.raises(NotFound, match="application"):
            await handlers.create_review(cmd, request_context(deps, cmd))


class TestUpdateReview:
    async def test_items_are_replaced_only_when_given_and_each_change_announced(
        self, deps: Deps, repo: FakeRepository, criteria: tuple[int, int], application: Row
    ) -> None:
        required, _ = criteria
        review = repo.add_review(application["id"], REVIEWER)
        review["items"] = [{"criterion_id": required, "satisfied": True, "comment": None}]

        cmd = UpdateReview(
            at=at(application), slug=review["slug"], changes=ReviewChanges(comment="Revised")
        )
        ctx = request_context(deps, cmd)
        shown = await handlers.update_review(cmd, ctx)
        assert shown["comment"] == "Revised"
        assert len(shown["reviewItems"]) == 1
        assert event(ctx, "application.reviewed")["approved"] is True

        changes = ReviewChanges.model_validate({"reviewItems": []})
        cmd = UpdateReview(at=at(application), slug=review["slug"], changes=changes)
        ctx = request_context(deps, cmd)
        shown = await handlers.update_review(cmd, ctx)
        assert shown["reviewItems"] == []
        assert event(ctx, "application.reviewed")["approved"] is False


async def test_a_deleted_review_announces_nothing(
    deps: Deps, repo: FakeRepository, application: Row
) -> None:
    review = repo.add_review(application["id"], REVIEWER)
    cmd = DeleteReview(at=at(application), slug=review["slug"])
    ctx = request_context(deps, cmd)

    shown = await handlers.delete_review(cmd, ctx)

    assert shown["slug"] == review["slug"]
    assert repo.tables.reviews == {}
    assert ctx.events == []
