from __future__ import annotations

import uuid

import pytest

from shared.envelope import Envelope
from shared.errors import AppError, Conflict, ValidationFailed
from shared.messages import EVENT_TYPES, MESSAGE_TYPES
from shared.messages.events import BadgeCreated
from shared.messages.systems import (
    CreateSystem,
    OrganizationChanges,
    OrganizationFields,
    UpdateSystem,
)


class TestEnvelope:
    def test_round_trip(self) -> None:
        event = BadgeCreated(system="chicago", badge={"slug": "reader"})
        envelope = Envelope.wrap(event, correlation_id="c-1", causation_id="m-0", system_id=7)
        again = Envelope.from_bytes(envelope.to_bytes())
        assert again == envelope
        assert again.type == "badge.created"
        assert again.data == {"system": "chicago", "badge": {"slug": "reader"}}
        assert BadgeCreated.from_data(again.data) == event

    def test_every_message_gets_its_own_id(self) -> None:
        event = BadgeCreated(system="s", badge={})
        first = Envelope.wrap(event, correlation_id="c")
        second = Envelope.wrap(event, correlation_id="c")
        assert first.message_id != second.message_id
        assert isinstance(first.message_id, uuid.UUID)

    def test_malformed_bytes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="validation error"):
            Envelope.from_bytes(b'{"type": "badge.created"}')


class TestRegistry:
    def test_event_types_are_dotted_past_tense(self) -> None:
        assert {"badge.awarded", "system.deleted", "consumer.deleted"} <= EVENT_TYPES
        assert all(name.count(".") == 1 for name in EVENT_TYPES)

    def test_requests_are_named_for_their_service(self) -> None:
        assert MESSAGE_TYPES["badges.create_system"] is CreateSystem
        services = ("badges.", "issuer.", "webhooks.")
        assert all(
            name.startswith(services) or name == "ping"
            for name in MESSAGE_TYPES
            if name not in EVENT_TYPES
        )


class TestPatch:
    def test_only_sent_fields_travel(self) -> None:
        changes = OrganizationChanges.model_validate({"name": "New", "email": None})
        command = UpdateSystem(slug="s", changes=changes)
        data = command.to_data()
        assert data == {"slug": "s", "changes": {"name": "New", "email": None}, "image": None}
        assert UpdateSystem.from_data(data).changes.model_dump(exclude_unset=True) == {
            "name": "New",
            "email": None,
        }

    def test_camel_case_on_the_wire(self) -> None:
        fields = OrganizationFields.model_validate(
            {
                "slug": "s",
                "name": "n",
                "url": "https://x.example.org",
                "imageUrl": "https://i.example.org/a.png",
            }
        )
        assert fields.image_url == "https://i.example.org/a.png"
        assert "imageUrl" in fields.to_data()


class TestErrorsOnTheWire:
    def test_status_code_and_details_survive(self) -> None:
        error = Conflict("system with that `slug` already exists", details={"slug": "s"})
        again = AppError.from_wire(error.to_wire())
        assert (again.status, again.code) == (409, "ResourceConflict")
        assert again.to_body() == error.to_body()

    def test_validation_body(self) -> None:
        error = ValidationFailed([{"field": "url", "value": "x", "message": "Invalid URL"}])
        assert error.to_body() == {
            "code": "ValidationError",
            "message": "Could not validate required fields",
            "details": [{"field": "url", "value": "x", "message": "Invalid URL"}],
        }
