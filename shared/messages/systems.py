"""Systems and their API consumers (served by the badges service)."""

from __future__ import annotations

from pydantic import ConfigDict, field_validator

from shared.messages.base import Command, Query
from shared.messages.common import ImageUpload, with_image
from shared.messages.fields import (
    Fields,
    Name,
    OptionalEmail,
    OptionalText,
    OptionalUrl,
    Page,
    Patch,
    Slug,
    Url,
    not_null,
)


class OrganizationFields(Fields):
    """A system, an issuer or a program: BadgeKit gives all three the same fields."""

    model_config = ConfigDict(json_schema_extra=with_image)

    slug: Slug
    name: Name
    url: Url
    description: OptionalText = None
    email: OptionalEmail = None
    image_url: OptionalUrl = None


class OrganizationChanges(Patch):
    """What PUT may change. `id` and `slug` are not here: they never change."""

    model_config = ConfigDict(json_schema_extra=with_image)

    name: Name | None = None
    url: Url | None = None
    description: OptionalText = None
    email: OptionalEmail = None
    image_url: OptionalUrl = None

    _not_null = field_validator("name", "url", mode="before")(not_null)


class CreateSystem(Command):
    TYPE = "badges.create_system"
    system: OrganizationFields
    image: ImageUpload | None = None


class UpdateSystem(Command):
    TYPE = "badges.update_system"
    slug: str
    changes: OrganizationChanges
    image: ImageUpload | None = None


class DeleteSystem(Command):
    TYPE = "badges.delete_system"
    slug: str


class GetSystem(Query):
    TYPE = "badges.get_system"
    slug: str


class ListSystems(Query):
    TYPE = "badges.list_systems"
    page: Page | None = None


class ConsumerFields(Fields):
    description: OptionalText = None


class CreateConsumer(Command):
    TYPE = "badges.create_consumer"
    system: str
    consumer: ConsumerFields


class DeleteConsumer(Command):
    TYPE = "badges.delete_consumer"
    system: str
    api_key: str


class ListConsumers(Query):
    TYPE = "badges.list_consumers"
    system: str
    page: Page | None = None


class GetConsumerCredentials(Query):
    """The gateway's look-up of an API key: answers the system and the encrypted secret."""

    TYPE = "badges.get_consumer_credentials"
    api_key: str


class ResolveSystem(Query):
    """A system's immutable id from its slug (for requests other services answer)."""

    TYPE = "badges.resolve_system"
    slug: str
