"""Base classes of the cross-service message models.

Models are frozen pydantic models; on the wire their fields are camelCase, as in BadgeKit's
JSON. `TYPE` is the wire name: `<resource>.<past participle>` for events (`system.created`),
`<service>.<imperative>` for commands and queries (`badges.create_system`).
"""

from __future__ import annotations

from typing import ClassVar

from shared.messages.fields import Fields


class Message(Fields):
    TYPE: ClassVar[str]


class Event(Message):
    """Something that happened. Zero or more subscribers; delivered through the outbox."""


class Command(Message):
    """A request to change state; exactly one owning handler, run in one transaction."""


class Query(Message):
    """A request to read state; answered without a transaction or a stored reply."""
