"""Pure rules of milestones: what requests accept, how responses look, when one is met."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.badges.domain import milestones
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


def row(
    primary: int = 1, support: tuple[int, ...] = (2, 3, 4), required: int = 2
) -> dict[str, Any]:
    return {
        "id": 9,
        "action": "issue",
        "primary_badge_id": primary,
        "number_required": required,
        "support_badge_ids": list(support),
    }


class TestIsDue:
    def test_enough_support_badges(self) -> None:
        assert milestones.is_due(row(), {2, 4})

    def test_too_few_support_badges(self) -> None:
        assert not milestones.is_due(row(), {2, 7, 8})

    def test_the_primary_badge_already_held(self) -> None:
        assert not milestones.is_due(row(), {1, 2, 3, 4})


class TestShape:
    def test_badges_in_their_places(self) -> None:
        shown = {n: {"id": n} for n in (1, 2, 3)}
        assert milestones.milestone(row(support=(2, 3)), shown) == {
            "id": 9,
            "action": "issue",
            "numberRequired": 2,
            "primaryBadge": {"id": 1},
            "supportBadges": [{"id": 2}, {"id": 3}],
        }

    def test_every_badge_named(self) -> None:
        assert milestones.badge_ids([row(), row(primary=5, support=(6,))]) == {1, 2, 3, 4, 5, 6}
