"""The base of every reply model, and BadgeKit's envelopes around the objects: `{system}`,
`{status: "created", system}`, `{systems: [...], pageData}` (see `services.gateway.render`)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

Word = Literal["created", "updated", "deleted", "accepted"]


class Shown(BaseModel):
    """A JSON object as a reply shows it: camelCase keys. A key the model does not name fails
    validation here (the published schema stays open to keys added later)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _never_null(schema: dict[str, Any]) -> None:
    """A key that is left out rather than null: its schema without the null branch."""
    schema.pop("default", None)
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


def omitted(description: str, *, nullable: bool = False, **more: Any) -> Any:
    """A key a reply leaves out at times (`description` says when); never null unless
    `nullable`. Its Python type must admit None."""
    extra = None if nullable else _never_null
    return Field(default=None, description=description, json_schema_extra=extra, **more)


class PageData(Shown):
    """BadgeKit's paging, with `?page=&count=` only (both positive integers)."""

    page: int = Field(examples=[1])
    count: int = Field(examples=[20])
    total: int = Field(examples=[42], description="Every item, on all pages")


def _key(name: str) -> str:
    return name[0].upper() + name[1:]


@cache
def reply(name: str, model: type[BaseModel]) -> type[Shown]:
    """`{<name>: <model>}`."""
    fields: dict[str, Any] = {name: (model, ...)}
    return cast(type[Shown], create_model(f"{model.__name__}Reply", __base__=Shown, **fields))


@cache
def with_status(word: Word, base: type[Shown]) -> type[Shown]:
    """`base` with BadgeKit's status word beside its keys."""
    title = base.__name__.removesuffix("Reply") + _key(word)
    status: Any = Literal[word]
    fields: dict[str, Any] = {"status": (status, ...)}
    return cast(type[Shown], create_model(title, __base__=base, **fields))


def created(name: str, model: type[BaseModel]) -> type[Shown]:
    return with_status("created", reply(name, model))


def updated(name: str, model: type[BaseModel]) -> type[Shown]:
    return with_status("updated", reply(name, model))


def deleted(name: str, model: type[BaseModel]) -> type[Shown]:
    return with_status("deleted", reply(name, model))


def accepted(name: str, model: type[BaseModel]) -> type[Shown]:
    return with_status("accepted", reply(name, model))


@cache
def listing(name: str, model: type[BaseModel]) -> type[Shown]:
    """`{<name>: [<model>...], pageData?}`."""
    fields: dict[str, Any] = {
        name: (list[model], ...),  # type: ignore[valid-type]
        "pageData": (PageData | None, omitted("Only with ?page=&count=")),
    }
    return cast(type[Shown], create_model(f"{model.__name__}List", __base__=Shown, **fields))
