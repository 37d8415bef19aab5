"""Reviews: which items a review may hold, when it approves an application, how it shows."""

from __future__ import annotations

from services.badges.domain import reviews
from shared.messages.applications import ReviewItemInput


def item(criterion_id: int, satisfied: bool = True) -> ReviewItemInput:
    return ReviewItemInput(criterion_id=criterion_id, satisfied=satisfied)


class TestItemProblems:
    CRITERIA = {1: True, 2: False}

    def test_items_of_the_badges_criteria_are_fine(self) -> None:
        assert reviews.item_problems(self.CRITERIA, [item(1), item(2, False)]) == []

    def test_other_criteria_and_repeats_are_refused(self) -> None:
        assert reviews.item_problems(self.CRITERIA, [item(1), item(9), item(1, False)]) == [
            {
                "field": "reviewItems.1.criterionId",
                "value": 9,
                "message": "Not a criterion of the application's badge",
            },
            {
                "field": "reviewItems.2.criterionId",
                "value": 1,
                "message": "This criterion is already reviewed in this review",
            },
        ]


class TestApproved:
    CRITERIA = {1: True, 2: True, 3: False}

    def test_every_required_criterion_satisfied(self) -> None:
        assert reviews.approved(self.CRITERIA, [(1, True), (2, True), (3, False)])

    def test_a_required_criterion_unsatisfied(self) -> None:
        assert not reviews.approved(self.CRITERIA, [(1, True), (2, False), (3, True)])

    def test_a_required_criterion_not_reviewed(self) -> None:
        assert not reviews.approved(self.CRITERIA, [(1, True)])

    def test_no_required_criterion(self) -> None:
        assert reviews.approved({3: False}, [])
        assert reviews.approved({}, [])


class TestReview:
    def test_review_shows_satisfied_as_badgekit_did(self) -> None:
        row = {
            "id": 1,
            "slug": "r",
            "author": "r@example.org",
            "comment": None,
            "items": [{"criterion_id": 4, "satisfied": True, "comment": "ok"}],
        }
        assert reviews.review(row)["reviewItems"] == [
            {"criterionId": 4, "satisfied": 1, "comment": "ok"}
        ]
