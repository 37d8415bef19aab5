"""Field types shared by request bodies and messages, failing with BadgeKit's messages.

BadgeKit answers a bad field with `{field, value, message}` where the message comes from
validator.js ("Required field", "Invalid URL", "Invalid email", "String is not in range");
these types raise exactly those, so a client's error handling keeps working.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_serializer
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")


def _in_range(low: int, high: int) -> AfterValidator:
    def check(value: str) -> str:
        if not low <= len(value) <= high:
            raise PydanticCustomError("range", "String is not in range")
        return value

    return AfterValidator(check)


def _url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise PydanticCustomError("url", "Invalid URL")
    if len(value) > 2048:
        raise PydanticCustomError("range", "String is not in range")
    return value


def _email(value: str) -> str:
    if len(value) > 255 or not _EMAIL.match(value):
        raise PydanticCustomError("email", "Invalid email")
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise PydanticCustomError(
            "slug",
            "Invalid slug: use letters, digits and - _ . ~, starting with a letter or digit",
        )
    return value


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _blank_is_none(value: Any) -> Any:
    """Form bodies send an empty string for a field left empty: treat it as absent."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _flag(value: Any) -> Any:
    """BadgeKit's booleans: true/false, 1/0, and their strings, as forms send them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "0", "false"):
        return value.strip().lower() in ("1", "true")
    raise PydanticCustomError("flag", "Invalid value: expected true, false, 1 or 0")


def not_null(value: Any) -> Any:
    """For a field a PUT may change but never empty: an explicit `null` (or blank) is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PydanticCustomError("required", "Required field")
    return value


def _listed(value: Any) -> Any:
    """A single value where a list is expected (a form field sent once) is a list of one."""
    if value is None or isinstance(value, list):
        return value
    return [value]


def one_of(*allowed: str) -> AfterValidator:
    """A string among `allowed`, failing with BadgeKit's enum message."""

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "enum",
                "Value must be one of the following: {allowed}",
                {"allowed": ", ".join(allowed)},
            )
        return value

    return AfterValidator(check)


Strip = BeforeValidator(_stripped)
Slug = Annotated[str, Strip, _in_range(1, 255), AfterValidator(_slug)]
Name = Annotated[str, Strip, _in_range(1, 255)]
Url = Annotated[str, Strip, AfterValidator(_url)]
Email = Annotated[str, Strip, AfterValidator(_email)]
ShortText = Annotated[str, _in_range(0, 255)]
OptionalUrl = Annotated[Url | None, BeforeValidator(_blank_is_none)]
OptionalEmail = Annotated[Email | None, BeforeValidator(_blank_is_none)]
OptionalText = Annotated[ShortText | None, BeforeValidator(_blank_is_none)]
# Long text (descriptions, reflections): bounded so one request cannot fill the database.
LongText = Annotated[str, _in_range(0, 10_000)]
RequiredText = Annotated[str, Strip, _in_range(1, 10_000)]
OptionalLongText = Annotated[LongText | None, BeforeValidator(_blank_is_none)]
Flag = Annotated[bool, BeforeValidator(_flag)]
OptionalFlag = Annotated[
    bool | None, BeforeValidator(lambda v: None if v in ("", None) else _flag(v))
]
Listed = BeforeValidator(_listed)
OptionalInt = Annotated[int | None, BeforeValidator(_blank_is_none)]


class Fields(BaseModel):
    """A request body: camelCase on the wire, unknown keys ignored as BadgeKit ignores them."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore"
    )

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


class Patch(Fields):
    """A partial update: only the fields the caller sent are serialised, so an omitted field is
    never confused with one set to null."""

    @model_serializer(mode="wrap")
    def _only_set(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        sent = set(self.model_fields_set)
        sent |= {type(self).model_fields[name].alias or name for name in self.model_fields_set}
        return {key: value for key, value in data.items() if key in sent}


class Page(Fields):
    page: int
    count: int
