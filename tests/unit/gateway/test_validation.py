from __future__ import annotations

import pytest

from services.gateway.validation import validate
from shared.errors import ValidationFailed
from shared.messages.systems import OrganizationChanges, OrganizationFields


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
