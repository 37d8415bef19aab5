"""Domain events: `<resource>.<past participle>`, routed on the events exchange by type.

`data` always carries `system`, the system's slug; the envelope carries its immutable id.
"""

from __future__ import annotations

from typing import Any

from shared.messages.base import Event


class SystemDeleted(Event):
    """Every service purges what it holds for the system (`Envelope.system_id`)."""

    TYPE = "system.deleted"
    system: str


class ConsumerDeleted(Event):
    """Every gateway drops the key from its cache at once."""

    TYPE = "consumer.deleted"
    system: str
    api_key: str


class BadgeCreated(Event):
    TYPE = "badge.created"
    system: str
    badge: dict[str, Any]


class BadgeUpdated(Event):
    TYPE = "badge.updated"
    system: str
    badge: dict[str, Any]


class BadgeDeleted(Event):
    TYPE = "badge.deleted"
    system: str
    badge: dict[str, Any]
