"""Milestone requests: form values, defaults, and what cannot be emptied."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.messages.milestones import MilestoneChanges, MilestoneFields


def errors(model: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in raised.value.errors()}


class TestMilestoneFields:
    def test_defaults_and_form_values(self) -> None:
        fields = MilestoneFields.model_validate(
            {"primaryBadgeId": "4", "numberRequired": "2", "supportBadges": "5", "action": ""}
        )
        assert fields.primary_badge_id == 4
        assert fields.number_required == 2
        assert fields.support_badges == [5]
        assert fields.action == "issue"

    def test_repeated_support_badges_count_once(self) -> None:
        fields = MilestoneFields.model_validate(
            {"primaryBadgeId": 1, "numberRequired": 1, "supportBadges": [3, 2, 3]}
        )
        assert fields.support_badges == [3, 2]

    def test_invalid_values(self) -> None:
        assert errors(
            MilestoneFields,
            {"primaryBadgeId": 1, "numberRequired": 0, "supportBadges": [], "action": "award"},
        ) == {
            "numberRequired": "Value must be at least 1",
            "supportBadges": "Required field",
            "action": "Value must be one of the following: issue, queue-application",
        }


class TestMilestoneChanges:
    def test_only_sent_fields_travel(self) -> None:
        assert MilestoneChanges.model_validate({"numberRequired": 3}).to_data() == {
            "numberRequired": 3
        }

    def test_validated_as_on_create(self) -> None:
        assert errors(MilestoneChanges, {"numberRequired": -1, "supportBadges": []}) == {
            "numberRequired": "Value must be at least 1",
            "supportBadges": "Required field",
        }

    @pytest.mark.parametrize(
        "field", ["primaryBadgeId", "numberRequired", "action", "supportBadges"]
    )
    def test_nothing_can_be_emptied(self, field: str) -> None:
        assert errors(MilestoneChanges, {field: None}) == {field: "Required field"}
