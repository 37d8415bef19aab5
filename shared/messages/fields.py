"""Field types shared by request bodies and messages, failing with BadgeKit's messages.

BadgeKit answers a bad field with `{field, value, message}` where the message comes from
validator.js ("Required field", "Invalid URL", "Invalid email", "String is not in range");
these types raise exactly those, so a client's error handling keeps working.

Each type also states what it accepts as JSON schema (`WithJsonSchema`: format, pattern, lengths),
for the OpenAPI document: generated clients and fuzzers can then produce valid values. The
schema describes; the validators decide. Where the two cannot say the same (Python's idea of
whitespace, lengths counted after stripping), the schema is the narrower.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import (
    CoreSchema,
    InitErrorDetails,
    PydanticCustomError,
    ValidationError,
    core_schema,
)

from shared.storable import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    NOT_STORABLE,
    holds_only_storable,
    unstorable,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
MAX_URL = 2048
# A string with something besides whitespace in it (unanchored: it searches).
NOT_BLANK = r"\S"
# An http(s) URL with a host, and no whitespace anywhere.
HTTP_URL = r"^https?://[^\s/?#:@]+[^\s]*$"


def text_schema(min_length: int, max_length: int, **more: Any) -> WithJsonSchema:
    """A string's JSON schema: its lengths, and `pattern`/`format` given in `more`."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, **more}
    if min_length:
        schema["minLength"] = min_length
    return WithJsonSchema(schema)


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
    if len(value) > MAX_URL:
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


class one_of:
    """A string among `allowed`, failing with BadgeKit's enum message; an `enum` in the schema.
    (Lowercase: it reads as an annotation, as pydantic's own markers do.)"""

    def __init__(self, *allowed: str) -> None:
        self.allowed = allowed

    def _check(self, value: str) -> str:
        if value not in self.allowed:
            raise PydanticCustomError(
                "enum",
                "Value must be one of the following: {allowed}",
                {"allowed": ", ".join(self.allowed)},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(self.allowed)}


Strip = BeforeValidator(_stripped)
Slug = Annotated[
    str,
    Strip,
    _in_range(1, 255),
    AfterValidator(_slug),
    text_schema(1, 255, pattern=_SLUG.pattern),
]
Name = Annotated[str, Strip, _in_range(1, 255), text_schema(1, 255, pattern=NOT_BLANK)]
Url = Annotated[
    str, Strip, AfterValidator(_url), text_schema(0, MAX_URL, format="uri", pattern=HTTP_URL)
]
Email = Annotated[str, Strip, AfterValidator(_email), text_schema(0, 255, format="email")]
ShortText = Annotated[str, _in_range(0, 255), text_schema(0, 255)]
OptionalUrl = Annotated[Url | None, BeforeValidator(_blank_is_none)]
OptionalEmail = Annotated[Email | None, BeforeValidator(_blank_is_none)]
OptionalText = Annotated[ShortText | None, BeforeValidator(_blank_is_none)]
# Long text (descriptions, reflections): bounded so one request cannot fill the database.
LongText = Annotated[str, _in_range(0, 10_000), text_schema(0, 10_000)]
RequiredText = Annotated[
    str, Strip, _in_range(1, 10_000), text_schema(1, 10_000, pattern=NOT_BLANK)
]
OptionalLongText = Annotated[LongText | None, BeforeValidator(_blank_is_none)]
Flag = Annotated[bool, BeforeValidator(_flag)]
OptionalFlag = Annotated[
    bool | None, BeforeValidator(lambda v: None if v in ("", None) else _flag(v))
]
Listed = BeforeValidator(_listed)
# A form's empty field is an absent one (for a field that is not a text).
BlankIsNone = BeforeValidator(_blank_is_none)
# Integers as their columns hold them: `integer` (Int32) or `bigint` (Int64, every id). A field
# narrows them further with its own `Field(ge=...)`.
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
OptionalInt = Annotated[Int64 | None, BeforeValidator(_blank_is_none)]


class Fields(BaseModel):
    """A request body: camelCase on the wire, unknown keys ignored as BadgeKit ignores them."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore"
    )

    @model_validator(mode="after")
    def _storable(self) -> Self:
        """Every string the model holds (in lists and dicts too, keys included) must be one
        Postgres can store: refused otherwise, each naming where it is. Nested models check
        their own, so each value is looked at once."""
        for value in self.__dict__.values():
            # Inline, the common cases: this runs for every message of every service.
            kind = type(value)
            if kind is str:
                if "\x00" not in value and value.isascii():
                    continue
            elif value is None or kind is bool or kind is int:
                continue
            if not holds_only_storable(value):
                raise self._unstorable()
        return self

    def _unstorable(self) -> ValidationError:
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("not_storable", NOT_STORABLE),
                loc=(field.alias or name, *at),
                input=value,
            )
            for name, field in type(self).model_fields.items()
            for at, value in unstorable(getattr(self, name))
        ]
        return ValidationError.from_exception_data(type(self).__name__, errors)

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


# BadgeKit's `?page=&count=`: the count is capped, and the page is at most what keeps the
# OFFSET, (page - 1) * count, within Postgres's bigint.
MAX_COUNT = 10_000
MAX_PAGE = INT64_MAX // MAX_COUNT + 1


class Page(Fields):
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)]
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)]
