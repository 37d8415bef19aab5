"""The field types and the rules every model of `shared/messages` keeps: text Postgres can store,
integers within their columns, PUT fields that cannot be emptied."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from shared.messages.applications import ReviewFields
from shared.messages.badges import BadgeChanges, BadgeFields
from shared.messages.events import BadgeCreated
from shared.messages.fields import MAX_COUNT, MAX_PAGE, Fields, Int32, Int64, Page
from shared.messages.milestones import MilestoneBadge, MilestoneChanges, MilestoneFields
from shared.messages.systems import OrganizationFields
from shared.messages.webhooks import EndpointChanges
from shared.storable import INT32_MAX, INT64_MAX, INT64_MIN, NOT_STORABLE


def errors(model: type[Fields], data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in raised.value.errors()}


def badge(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Reader",
        "earnerDescription": "You read.",
        "consumerDescription": "They read.",
        "criteriaUrl": "https://example.org/criteria",
        "unique": False,
        **extra,
    }


class TestStorableText:
    def test_a_nul_is_refused_naming_the_field(self) -> None:
        data = {"slug": "s", "name": "a\x00b", "url": "https://s.example.org"}
        assert errors(OrganizationFields, data) == {"name": NOT_STORABLE}

    def test_every_place_is_named_at_once(self) -> None:
        data = badge(strapline="\x00", categories=["fine", "c\x00"], tags=["t\x00"])
        assert errors(BadgeFields, data) == {
            "strapline": NOT_STORABLE,
            "categories.1": NOT_STORABLE,
            "tags.0": NOT_STORABLE,
        }

    def test_a_nested_model_names_its_own_fields(self) -> None:
        # Its refusal comes first (the model holding it is never built); the gateway has named
        # every place of the body already (services.gateway.body).
        data = badge(strapline="\x00", criteria=[{"description": "ok"}, {"description": "x\x00"}])
        assert errors(BadgeFields, data) == {"criteria.1.description": NOT_STORABLE}

    def test_nested_lists_of_models(self) -> None:
        data = {
            "author": "a@example.org",
            "reviewItems": [{"criterionId": 1, "satisfied": 1, "comment": "\x00"}],
        }
        assert errors(ReviewFields, data) == {"reviewItems.0.comment": NOT_STORABLE}

    def test_dicts_keys_and_values(self) -> None:
        with pytest.raises(ValidationError) as raised:
            BadgeCreated(system="s", badge={"fine": ["x"], "k\x00": 1, "v": {"w": "y\x00"}})
        assert [e["loc"] for e in raised.value.errors()] == [
            ("badge", "k\x00"),
            ("badge", "v", "w"),
        ]

    def test_a_patch_is_checked_too(self) -> None:
        assert errors(BadgeChanges, {"type": "a\x00"}) == {"type": NOT_STORABLE}

    def test_text_without_nul_passes_untouched(self) -> None:
        fields = OrganizationFields.model_validate(
            {"slug": "s", "name": "Zoë 😀 \\u0000", "url": "https://s.example.org"}
        )
        assert fields.name == "Zoë 😀 \\u0000"


class TestBoundedIntegers:
    def test_the_aliases_are_the_columns_ranges(self) -> None:
        class Numbers(Fields):
            small: Int32
            big: Int64

        Numbers(small=INT32_MAX, big=INT64_MAX)
        Numbers(small=-INT32_MAX - 1, big=INT64_MIN)
        assert set(errors(Numbers, {"small": INT32_MAX + 1, "big": INT64_MAX + 1})) == {
            "small",
            "big",
        }
        assert set(errors(Numbers, {"small": -(2**31) - 1, "big": INT64_MIN - 1})) == {
            "small",
            "big",
        }

    @pytest.mark.parametrize("field", ["limit", "timeValue"])
    def test_integer_columns_of_a_badge(self, field: str) -> None:
        assert BadgeFields.model_validate(badge(**{field: INT32_MAX})).model_dump(by_alias=True)[
            field
        ] == (INT32_MAX)
        assert errors(BadgeFields, badge(**{field: 2**31})) == {
            field: "Input should be less than or equal to 2147483647"
        }
        assert set(errors(BadgeChanges, {field: "99999999999999999999"})) == {field}

    @pytest.mark.parametrize("field", ["limit", "timeValue"])
    def test_a_blank_form_field_is_absent(self, field: str) -> None:
        assert getattr(BadgeFields.model_validate(badge(**{field: " "})), to_snake(field)) is None
        changes = BadgeChanges.model_validate({field: ""})
        assert changes.to_data() == {field: None}

    def test_criterion_ids_are_bigints(self) -> None:
        criteria = [{"id": INT64_MAX, "description": "d"}]
        assert BadgeFields.model_validate(badge(criteria=criteria)).criteria[0].id == INT64_MAX
        assert set(errors(BadgeFields, badge(criteria=[{"id": 2**63, "description": "d"}]))) == {
            "criteria.0.id"
        }

    def test_milestone_fields(self) -> None:
        assert errors(
            MilestoneFields,
            {"primaryBadgeId": 2**63, "numberRequired": 2**31, "supportBadges": [1, 2**63]},
        ) == {
            "primaryBadgeId": "Input should be less than or equal to 9223372036854775807",
            "numberRequired": "Input should be less than or equal to 2147483647",
            "supportBadges.1": "Input should be less than or equal to 9223372036854775807",
        }
        assert set(errors(MilestoneChanges, {"primaryBadgeId": -(2**63) - 1})) == {"primaryBadgeId"}
        assert set(errors(MilestoneBadge, {"badgeId": 2**64})) == {"badgeId"}

    def test_a_review_items_criterion(self) -> None:
        data = {"author": "a@example.org", "reviewItems": [{"criterionId": 2**63, "satisfied": 1}]}
        assert set(errors(ReviewFields, data)) == {"reviewItems.0.criterionId"}


class TestPage:
    def test_offsets_fit_a_bigint(self) -> None:
        assert (MAX_PAGE - 1) * MAX_COUNT <= INT64_MAX < MAX_PAGE * MAX_COUNT
        Page(page=MAX_PAGE, count=MAX_COUNT)

    @pytest.mark.parametrize(
        ("page", "count"), [(MAX_PAGE + 1, 1), (1, MAX_COUNT + 1), (0, 1), (1, 0)]
    )
    def test_beyond_is_refused(self, page: int, count: int) -> None:
        with pytest.raises(ValidationError):
            Page(page=page, count=count)


class TestNotNullOnPut:
    @pytest.mark.parametrize("field", ["url", "events", "format", "enabled"])
    def test_webhook_columns_that_cannot_be_emptied(self, field: str) -> None:
        assert errors(EndpointChanges, {field: None}) == {field: "Required field"}

    def test_the_description_can(self) -> None:
        assert EndpointChanges.model_validate({"description": None}).to_data() == {
            "description": None
        }
