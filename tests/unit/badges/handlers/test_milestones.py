"""Milestones (services/badges/handlers/milestones.py): only badges of the milestone's own
system, ids as paths give them, support badges replaced only when given. Run on an in-memory
repository (fakes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from services.badges.deps import Deps
from services.badges.handlers import milestones as handlers
from shared.errors import NotFound, ValidationFailed
from shared.messages.milestones import (
    AddMilestoneBadge,
    CreateMilestone,
    DeleteMilestone,
    GetMilestone,
    MilestoneChanges,
    MilestoneFields,
    UpdateMilestone,
)
from tests.unit.badges.fakes import FakeRepository, Row, emitted, event, request_context


@pytest.fixture
def system(repo: FakeRepository) -> Row:
    return repo.add_system("chicago")


@pytest.fixture
def badges(repo: FakeRepository, system: Row) -> dict[str, int]:
    return {
        slug: repo.add_badge(system["id"], slug)["id"]
        for slug in ("bookworm", "first-book", "second-book")
    }


@pytest.fixture
def foreign_badge(repo: FakeRepository) -> int:
    """A badge of another tenant."""
    other = repo.add_system("springfield")
    return int(repo.add_badge(other["id"], "reader")["id"])


def create(primary: int, support: list[int], **fields: Any) -> CreateMilestone:
    milestone = MilestoneFields.model_validate(
        {"primaryBadgeId": primary, "numberRequired": 1, "supportBadges": support, **fields}
    )
    return CreateMilestone(system="chicago", milestone=milestone)


class TestCreateMilestone:
    async def test_created_and_shown_with_its_badges(
        self, deps: Deps, repo: FakeRepository, badges: dict[str, int]
    ) -> None:
        cmd = create(badges["bookworm"], [badges["first-book"], badges["second-book"]])

        shown = await handlers.create_milestone(cmd, request_context(deps, cmd))

        [stored] = repo.tables.milestones.values()
        assert stored["support"] == {badges["first-book"], badges["second-book"]}
        assert shown["id"] == stored["id"]
        assert shown["primaryBadge"]["slug"] == "bookworm"
        assert [b["slug"] for b in shown["supportBadges"]] == ["first-book", "second-book"]

    async def test_badges_of_another_system_are_refused_by_field(
        self, deps: Deps, repo: FakeRepository, badges: dict[str, int], foreign_badge: int
    ) -> None:
        cmd = create(foreign_badge, [badges["first-book"], foreign_badge, 10**12])

        with pytest.raises(ValidationFailed) as refused:
            await handlers.create_milestone(cmd, request_context(deps, cmd))

        assert refused.value.details == [
            {
                "field": "primaryBadgeId",
                "value": foreign_badge,
                "message": "Not a badge of this system",
            },
            {
                "field": "supportBadges.1",
                "value": foreign_badge,
                "message": "Not a badge of this system",
            },
            {"field": "supportBadges.2", "value": 10**12, "message": "Not a badge of this system"},
        ]
        assert repo.tables.milestones == {}
        assert repo.ran("milestones.insert") == []


class TestMilestoneIds:
    @pytest.mark.parametrize(
        "given",
        ["abc", "\uff11\uff12", "-1", "1" * 19],
        ids=["letters", "fullwidth digits (isdigit, not ascii)", "negative", "past a bigint"],
    )
    async def test_an_id_no_milestone_can_have_is_a_404_without_a_look_up(
        self, deps: Deps, repo: FakeRepository, system: Row, given: str
    ) -> None:
        query = GetMilestone(system="chicago", id=given)

        with pytest.raises(NotFound, match="milestone"):
            await handlers.get_milestone(query, request_context(deps, query))
        assert repo.ran("milestones.find") == []

    async def test_a_milestone_of_another_system_is_a_404(
        self, deps: Deps, repo: FakeRepository, system: Row, foreign_badge: int
    ) -> None:
        other = repo.tables.badges[foreign_badge]["system_id"]
        milestone = repo.add_milestone(other, foreign_badge, [foreign_badge])
        query = GetMilestone(system="chicago", id=str(milestone))

        with pytest.raises(NotFound, match="milestone"):
            await handlers.get_milestone(query, request_context(deps, query))


class TestUpdateMilestone:
    async def test_support_badges_are_replaced_only_when_given(
        self, deps: Deps, repo: FakeRepository, system: Row, badges: dict[str, int]
    ) -> None:
        milestone = repo.add_milestone(system["id"], badges["bookworm"], [badges["first-book"]])

        changes = MilestoneChanges.model_validate(
            {"numberRequired": 1, "action": "queue-application"}
        )
        cmd = UpdateMilestone(system="chicago", id=str(milestone), changes=changes)
        shown = await handlers.update_milestone(cmd, request_context(deps, cmd))
        assert shown["action"] == "queue-application"
        assert repo.tables.milestones[milestone]["support"] == {badges["first-book"]}

        changes = MilestoneChanges.model_validate({"supportBadges": [badges["second-book"]]})
        cmd = UpdateMilestone(system="chicago", id=str(milestone), changes=changes)
        shown = await handlers.update_milestone(cmd, request_context(deps, cmd))
        assert [b["slug"] for b in shown["supportBadges"]] == ["second-book"]

    async def test_badges_of_another_system_are_refused(
        self,
        deps: Deps,
        repo: FakeRepository,
        system: Row,
        badges: dict[str, int],
        foreign_badge: int,
    ) -> None:
        milestone = repo.add_milestone(system["id"], badges["bookworm"], [badges["first-book"]])
        changes = MilestoneChanges.model_validate({"primaryBadgeId": foreign_badge})
        cmd = UpdateMilestone(system="chicago", id=str(milestone), changes=changes)

        with pytest.raises(ValidationFailed):
            await handlers.update_milestone(cmd, request_context(deps, cmd))
        assert repo.tables.milestones[milestone]["primary_badge_id"] == badges["bookworm"]

    async def test_adding_a_badge_of_another_system_is_refused(
        self,
        deps: Deps,
        repo: FakeRepository,
        system: Row,
        badges: dict[str, int],
        foreign_badge: int,
    ) -> None:
        milestone = repo.add_milestone(system["id"], badges["bookworm"], [badges["first-book"]])
        cmd = AddMilestoneBadge(system="chicago", id=str(milestone), badge_id=foreign_badge)

        with pytest.raises(ValidationFailed) as refused:
            await handlers.add_milestone_badge(cmd, request_context(deps, cmd))
        assert refused.value.details[0]["field"] == "badgeId"
        assert repo.tables.milestones[milestone]["support"] == {badges["first-book"]}


class TestAnnounced:
    """A badge shows the milestones it leads to: every change is announced."""

    async def test_created_updated_and_deleted(self, deps: Deps, badges: dict[str, int]) -> None:
        cmd = create(badges["bookworm"], [badges["first-book"]])
        ctx = request_context(deps, cmd)
        shown = await handlers.create_milestone(cmd, ctx)
        assert event(ctx, "milestone.created") == {"system": "chicago", "milestone": shown}

        changes = MilestoneChanges.model_validate({"numberRequired": 1})
        update = UpdateMilestone(system="chicago", id=str(shown["id"]), changes=changes)
        ctx = request_context(deps, update)
        shown = await handlers.update_milestone(update, ctx)
        assert event(ctx, "milestone.updated") == {"system": "chicago", "milestone": shown}

        add = AddMilestoneBadge(
            system="chicago", id=str(shown["id"]), badge_id=badges["second-book"]
        )
        ctx = request_context(deps, add)
        shown = await handlers.add_milestone_badge(add, ctx)
        assert emitted(ctx) == ["milestone.updated"]

        delete = DeleteMilestone(system="chicago", id=str(shown["id"]))
        ctx = request_context(deps, delete)
        shown = await handlers.delete_milestone(delete, ctx)
        assert event(ctx, "milestone.deleted") == {"system": "chicago", "milestone": shown}
