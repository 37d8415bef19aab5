"""Application and review requests: what they accept, and what travels as changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.messages.applications import (
    ApplicationChanges,
    ApplicationFields,
    ReviewChanges,
    ReviewFields,
    ReviewItemInput,
    UpdateApplication,
)
from shared.messages.common import Scope


def errors(model: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in raised.value.errors()}


class TestApplicationFields:
    def test_evidence_is_validated(self) -> None:
        assert errors(
            ApplicationFields,
            {
                "learner": "ada@example.org",
                "evidence": [
                    {"url": "ftp://example.org/x"},
                    {"url": "https://example.org", "mediaType": "video"},
                    {"mediaType": "image"},
                ],
            },
        ) == {
            "evidence.0.url": "Invalid URL",
            "evidence.1.mediaType": "Value must be one of the following: image, link",
            "evidence.2": "Evidence needs a url or a reflection",
        }

    def test_a_reflection_alone_is_evidence(self) -> None:
        fields = ApplicationFields.model_validate(
            {"learner": "ada@example.org", "evidence": [{"reflection": "I read them all"}]}
        )
        assert fields.evidence[0].url is None
        assert fields.evidence[0].media_type is None

    def test_one_evidence_object_is_a_list_of_one(self) -> None:
        fields = ApplicationFields.model_validate(
            {"learner": "ada@example.org", "evidence": {"url": "https://example.org/a"}}
        )
        assert [item.url for item in fields.evidence] == ["https://example.org/a"]

    def test_dates_are_utc(self) -> None:
        fields = ApplicationFields.model_validate(
            {"learner": "ada@example.org", "assignedExpiration": "2031-05-01"}
        )
        assert fields.assigned_expiration == datetime(2031, 5, 1, tzinfo=UTC)

    def test_blank_optional_fields_are_absent(self) -> None:
        fields = ApplicationFields.model_validate(
            {"learner": "ada@example.org", "assignedTo": "", "assignedExpiration": ""}
        )
        assert fields.assigned_to is None
        assert fields.assigned_expiration is None


class TestApplicationChanges:
    def test_only_sent_fields_travel(self) -> None:
        changes = ApplicationChanges.model_validate({"processed": "1", "assignedTo": None})
        command = UpdateApplication(scope=Scope(system="s"), badge="b", slug="a", changes=changes)
        again = UpdateApplication.from_data(command.to_data()).changes
        assert again.model_dump(exclude_unset=True) == {"processed": True, "assigned_to": None}

    def test_learner_cannot_be_emptied(self) -> None:
        assert errors(ApplicationChanges, {"learner": None}) == {"learner": "Required field"}

    @pytest.mark.parametrize(("given", "meaning"), [(True, True), ("true", True), (0, False)])
    def test_processed_takes_badgekit_flags(self, given: Any, meaning: bool) -> None:
        assert ApplicationChanges.model_validate({"processed": given}).processed is meaning

    def test_processed_refuses_anything_else(self) -> None:
        assert set(errors(ApplicationChanges, {"processed": "soon"})) == {"processed"}

    @pytest.mark.parametrize(
        ("given", "meaning"),
        [
            ("2026-12-04T17:04:04Z", datetime(2026, 12, 4, 17, 4, 4, tzinfo=UTC)),
            ("2026-12-04T18:04:04+01:00", datetime(2026, 12, 4, 17, 4, 4, tzinfo=UTC)),
            ("2026-12-04", datetime(2026, 12, 4, tzinfo=UTC)),
            (1796403844, datetime(2026, 12, 4, 17, 4, 4, tzinfo=UTC)),
            ("1796403844000", datetime(2026, 12, 4, 17, 4, 4, tzinfo=UTC)),
        ],
    )
    def test_processed_and_expiration_take_dates(self, given: Any, meaning: datetime) -> None:
        """BadgeKit took any date for both; 1 and 0 stay flags."""
        changes = ApplicationChanges.model_validate(
            {"processed": given, "assignedExpiration": given}
        )
        assert changes.processed == meaning
        assert changes.assigned_expiration == meaning
        command = UpdateApplication(scope=Scope(system="s"), badge="b", slug="a", changes=changes)
        assert UpdateApplication.from_data(command.to_data()).changes.processed == meaning


class TestReviewFields:
    @pytest.mark.parametrize(
        ("given", "meaning"), [(1, True), ("1", True), ("TRUE", True), (False, False), ("0", False)]
    )
    def test_satisfied_takes_badgekit_flags(self, given: Any, meaning: bool) -> None:
        item = ReviewItemInput.model_validate({"criterionId": 3, "satisfied": given})
        assert item.satisfied is meaning

    def test_items_need_a_criterion_and_a_verdict(self) -> None:
        assert set(errors(ReviewFields, {"author": "r@example.org", "reviewItems": [{}]})) == {
            "reviewItems.0.criterionId",
            "reviewItems.0.satisfied",
        }

    def test_omitted_items_are_not_sent_as_changes(self) -> None:
        changes = ReviewChanges.model_validate({"comment": "Revised"})
        assert "reviewItems" not in changes.to_data()
        assert changes.review_items is None

    def test_author_cannot_be_emptied(self) -> None:
        assert errors(ReviewChanges, {"author": None}) == {"author": "Required field"}
