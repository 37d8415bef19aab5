from __future__ import annotations

import pytest

from services.gateway.validation import page_of, validate
from shared.errors import InvalidParameter, ValidationFailed
from shared.messages.fields import MAX_COUNT, MAX_PAGE
from shared.messages.milestones import MilestoneBadge, MilestoneFields
from shared.messages.systems import OrganizationChanges, OrganizationFields
from shared.messages.webhooks import EndpointFields
from shared.storable import NOT_STORABLE


def details(fields: dict[str, object]) -> list[dict[str, object]]:
    with pytest.raises(ValidationFailed) as caught:
        validate(OrganizationFields, fields)
    assert caught.value.status == 400
    return caught.value.details  # type: ignore[no-any-return]


def test_missing_fields_are_required() -> None:
    assert details({}) == [
        {"field": "slug", "value": "", "message": "Required field"},
        {"field": "name", "value": "", "message": "Required field"},
        {"field": "url", "value": "", "message": "Required field"},
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "ftp://x.org", "Invalid URL"),
        ("url", "https://", "Invalid URL"),
        ("url", "https://a b.org", "Invalid URL"),
        ("email", "not-an-email", "Invalid email"),
        ("name", "x" * 256, "String is not in range"),
        ("description", "x" * 256, "String is not in range"),
        ("imageUrl", "javascript:alert(1)", "Invalid URL"),
    ],
)
def test_field_messages(field: str, value: str, message: str) -> None:
    fields = {"slug": "s", "name": "n", "url": "https://s.example.org", field: value}
    assert details(fields) == [{"field": field, "value": value, "message": message}]


def test_slug_shape() -> None:
    [detail] = details({"slug": "../etc", "name": "n", "url": "https://s.example.org"})
    assert detail["field"] == "slug"
    assert str(detail["message"]).startswith("Invalid slug")


def test_wrong_types() -> None:
    [detail] = details({"slug": "s", "name": 5, "url": "https://s.example.org"})
    assert detail == {"field": "name", "value": 5, "message": "Invalid value: expected a string"}


def test_blank_optional_form_fields_are_absent() -> None:
    fields = validate(
        OrganizationFields,
        {"slug": "s", "name": "n", "url": "https://s.example.org", "email": "", "imageUrl": " "},
    )
    assert fields.email is None
    assert fields.image_url is None


def test_unknown_fields_are_ignored() -> None:
    fields = validate(OrganizationChanges, {"id": 9, "slug": "other", "name": "New"})
    assert fields.model_dump(exclude_unset=True) == {"name": "New"}


class TestStoredLimits:
    def test_a_nul_is_named_with_the_stored_text_message(self) -> None:
        [detail] = details({"slug": "s", "name": "a\x00b", "url": "https://s.example.org"})
        assert detail == {"field": "name", "value": "a\x00b", "message": NOT_STORABLE}

    def test_bounds_say_what_is_allowed(self) -> None:
        body = {"primaryBadgeId": 2**63, "numberRequired": 2**31, "supportBadges": [0]}
        with pytest.raises(ValidationFailed) as caught:
            validate(MilestoneFields, body)
        assert caught.value.details == [
            {
                "field": "primaryBadgeId",
                "value": 2**63,
                "message": "Value must be at most 9223372036854775807",
            },
            {
                "field": "numberRequired",
                "value": 2**31,
                "message": "Value must be at most 2147483647",
            },
        ]

    def test_a_number_beyond_64_bits_as_json_gives_it(self) -> None:
        # orjson reads such a number as a float.
        with pytest.raises(ValidationFailed) as caught:
            validate(MilestoneBadge, {"badgeId": 1.2e21})
        assert caught.value.details[0]["message"] == "Invalid value: the integer is out of range"

    def test_messages_are_not_templates_of_their_input(self) -> None:
        # A refusal that quotes the input keeps its braces.
        with pytest.raises(ValidationFailed) as caught:
            validate(EndpointFields, {"url": "https://h.example.org", "events": ["{le}"]})
        assert "{le}" in caught.value.details[0]["message"]


class TestPagination:
    @pytest.mark.parametrize(
        "query",
        [{}, {"page": "1"}, {"page": "0", "count": "5"}, {"page": "x", "count": "5"}],
    )
    def test_no_paging_unless_both_are_positive_integers(self, query: dict[str, str]) -> None:
        assert page_of(query) is None

    def test_the_count_is_capped(self) -> None:
        page = page_of({"page": "2", "count": "99999999999999999999"})
        assert page is not None
        assert (page.page, page.count) == (2, MAX_COUNT)

    def test_the_last_page_postgres_can_offset(self) -> None:
        page = page_of({"page": str(MAX_PAGE), "count": str(MAX_COUNT)})
        assert page is not None
        assert (page.page - 1) * page.count <= 2**63 - 1

    @pytest.mark.parametrize("page", [str(MAX_PAGE + 1), "99999999999999999999"])
    def test_a_page_beyond_is_an_invalid_parameter(self, page: str) -> None:
        with pytest.raises(InvalidParameter) as caught:
            page_of({"page": page, "count": "1"})
        assert caught.value.to_body() == {
            "code": "InvalidParameter",
            "parameter": "page",
            "message": f"`page` must be an integer from 1 to {MAX_PAGE}",
        }
