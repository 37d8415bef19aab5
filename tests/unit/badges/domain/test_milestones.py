"""Milestones: when one is met, and how it shows."""

from __future__ import annotations

from typing import Any

from services.badges.domain import milestones


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
