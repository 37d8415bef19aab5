"""Milestones of a system (served by the badges service): a primary badge that follows once
enough of its support badges are held."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Query
from shared.messages.fields import Fields, Int32, Int64, Listed, Page, Patch, Strip, one_of
from shared.storable import INT32_MAX, INT64_MAX, INT64_MIN

Action = Annotated[str, Strip, one_of("issue", "queue-application")]


def _at_least_one(value: int) -> int:
    if value < 1:
        raise PydanticCustomError("range", "Value must be at least 1")
    return value


def _some_badges(value: list[int]) -> list[int]:
    if not value:
        raise PydanticCustomError("required", "Required field")
    return list(dict.fromkeys(value))


def _required(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("required", "Required field")
    return value


NumberRequired = Annotated[
    Int32,
    AfterValidator(_at_least_one),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": INT32_MAX}),
]
SupportBadges = Annotated[
    list[Int64],
    Listed,
    AfterValidator(_some_badges),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
            "minItems": 1,
        }
    ),
]


class MilestoneFields(Fields):
    primary_badge_id: Int64
    number_required: NumberRequired
    action: Annotated[Action, BeforeValidator(lambda v: v or "issue")] = "issue"
    support_badges: SupportBadges


class MilestoneChanges(Patch):
    """What PUT may change, validated as on create; omitted support badges are kept."""

    primary_badge_id: Int64 | None = None
    number_required: NumberRequired | None = None
    action: Action | None = None
    support_badges: SupportBadges | None = None

    _not_null = field_validator(
        "primary_badge_id", "number_required", "action", "support_badges", mode="before"
    )(_required)


class MilestoneBadge(Fields):
    """The body of `add-badge` and `remove-badge`."""

    badge_id: Int64


class ListMilestones(Query):
    TYPE = "badges.list_milestones"
    system: str
    page: Page | None = None


class GetMilestone(Query):
    TYPE = "badges.get_milestone"
    system: str
    id: str


class CreateMilestone(Command):
    TYPE = "badges.create_milestone"
    system: str
    milestone: MilestoneFields


class UpdateMilestone(Command):
    TYPE = "badges.update_milestone"
    system: str
    id: str
    changes: MilestoneChanges


class DeleteMilestone(Command):
    TYPE = "badges.delete_milestone"
    system: str
    id: str


class AddMilestoneBadge(Command):
    TYPE = "badges.add_milestone_badge"
    system: str
    id: str
    badge_id: Int64


class RemoveMilestoneBadge(Command):
    TYPE = "badges.remove_milestone_badge"
    system: str
    id: str
    badge_id: Int64
