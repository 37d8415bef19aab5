"""Webhook endpoints of a system and their deliveries (served by the webhooks service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Query
from shared.messages.fields import Fields, OptionalText, Page, Patch, Url, not_null

# The event types subscribers may filter on (DESIGN.md, Webhook deliveries).
EVENT_TYPES = (
    "badge.awarded",
    "badge.revoked",
    "application.submitted",
    "application.reviewed",
    "claim_code.claimed",
    "credential.issued",
    "credential.failed",
    "badge.created",
    "badge.updated",
    "badge.deleted",
    "import.completed",
    "webhook.test",
)
# Sent to one endpoint on request (`TestEndpoint`), never published: every other type is a
# domain event that the webhooks service fans out to the endpoints that take it.
TEST_EVENT = "webhook.test"
FANNED_OUT = tuple(event_type for event_type in EVENT_TYPES if event_type != TEST_EVENT)
Format = Literal["standard", "badgekit"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


def _event_types(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]  # a form field sent once
    if not isinstance(value, list) or not value:
        raise PydanticCustomError("events", 'Give "*" or a list of event types')
    unknown = [item for item in value if item != "*" and item not in EVENT_TYPES]
    if unknown:
        raise PydanticCustomError(
            "events",
            "Unknown event type {unknown}: use * or any of {known}",
            {"unknown": ", ".join(map(str, unknown)), "known": ", ".join(EVENT_TYPES)},
        )
    return list(dict.fromkeys(value))


Events = Annotated[
    list[str],
    Field(min_length=1),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": ["*", *EVENT_TYPES]},
            "minItems": 1,
            "description": '"*" for every event, or the event types to receive',
        }
    ),
]


class EndpointFields(Fields):
    url: Url
    events: Events = ["*"]
    description: OptionalText = None
    format: Format = "standard"

    _types = field_validator("events", mode="before")(_event_types)


class EndpointChanges(Patch):
    """What PUT may change; `enabled: true` re-enables an endpoint that was disabled."""

    url: Url | None = None
    events: Events | None = None
    description: OptionalText = None
    format: Format | None = None
    enabled: bool | None = None

    _types = field_validator("events", mode="before")(_event_types)
    # Every column but the description's is NOT NULL: an explicit null is refused.
    _not_null = field_validator("url", "events", "format", "enabled", mode="before")(not_null)


class Recovery(Fields):
    since: datetime
    until: datetime | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.since.tzinfo is None or (self.until is not None and self.until.tzinfo is None):
            raise PydanticCustomError("tz", "Give times with a time zone (ISO 8601)")
        if self.until is not None and self.until <= self.since:
            raise PydanticCustomError("window", "until must come after since")
        return self


class CreateEndpoint(Command):
    TYPE = "webhooks.create_endpoint"
    system_id: int
    system: str
    endpoint: EndpointFields


class ListEndpoints(Query):
    TYPE = "webhooks.list_endpoints"
    system_id: int
    page: Page | None = None


class GetEndpoint(Query):
    TYPE = "webhooks.get_endpoint"
    system_id: int
    id: str


class UpdateEndpoint(Command):
    TYPE = "webhooks.update_endpoint"
    system_id: int
    id: str
    changes: EndpointChanges


class DeleteEndpoint(Command):
    TYPE = "webhooks.delete_endpoint"
    system_id: int
    id: str


class RotateEndpointSecret(Command):
    TYPE = "webhooks.rotate_endpoint_secret"
    system_id: int
    id: str


class TestEndpoint(Command):
    TYPE = "webhooks.test_endpoint"
    system_id: int
    id: str


class ListDeliveries(Query):
    TYPE = "webhooks.list_deliveries"
    system_id: int
    id: str
    status: DeliveryStatus | None = None
    page: Page | None = None


class RetryDelivery(Command):
    TYPE = "webhooks.retry_delivery"
    system_id: int
    id: str
    delivery_id: str


class RecoverDeliveries(Command):
    TYPE = "webhooks.recover_deliveries"
    system_id: int
    id: str
    window: Recovery
