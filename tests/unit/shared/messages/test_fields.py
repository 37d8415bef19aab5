"""Field types: BadgeKit's messages when a value is refused, and a JSON schema that says what
they accept (formats, patterns, lengths, enums) so that generated clients send valid values."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
import pytest
from pydantic import TypeAdapter

from shared.messages.fields import Email, Name, Slug, Url, one_of
from shared.messages.instances import Timestamp

Units = Annotated[str, one_of("minutes", "hours")]


def schema(annotation: Any) -> dict[str, Any]:
    found: dict[str, Any] = TypeAdapter(annotation).json_schema()
    return found


def message(annotation: Any, value: Any) -> str:
    with pytest.raises(pydantic.ValidationError) as error:
        TypeAdapter(annotation).validate_python(value)
    text: str = error.value.errors()[0]["msg"]
    return text


class TestSchemas:
    def test_url(self) -> None:
        assert schema(Url) == {
            "type": "string",
            "format": "uri",
            "maxLength": 2048,
            "pattern": "^https?://[^\\s/?#:@]+[^\\s]*$",
        }

    def test_email(self) -> None:
        assert schema(Email) == {"type": "string", "format": "email", "maxLength": 255}

    def test_slug_and_name(self) -> None:
        assert schema(Slug)["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._~-]*$"
        assert schema(Name) == {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "\\S",
        }

    def test_one_of_is_an_enum(self) -> None:
        assert schema(Units) == {"type": "string", "enum": ["minutes", "hours"]}

    def test_timestamps_take_dates_and_unix_times(self) -> None:
        assert schema(Timestamp)["anyOf"][:2] == [
            {"type": "string", "format": "date-time"},
            {"type": "integer", "description": "Unix seconds (milliseconds from 10^12)"},
        ]


class TestValidationIsUnchanged:
    def test_badgekit_messages(self) -> None:
        assert message(Url, "ftp://example.org") == "Invalid URL"
        assert message(Email, "not-an-email") == "Invalid email"
        assert message(Name, "   ") == "String is not in range"
        assert message(Units, "days") == "Value must be one of the following: minutes, hours"

    def test_values_are_stripped_as_before(self) -> None:
        assert TypeAdapter(Url).validate_python(" https://example.org ") == "https://example.org"
        assert TypeAdapter(Units).validate_python("hours") == "hours"
