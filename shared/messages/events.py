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


# Changes that no subscribing service acts on, yet every gateway hears (`GATEWAY_BROADCASTS`):
# what a system, issuer or program shows and the milestones a badge leads to appear in the
# badges the gateways keep in their read caches.


class SystemUpdated(Event):
    """`system` is the slug, as in every event; `profile` the system as shown after the PUT."""

    TYPE = "system.updated"
    system: str
    profile: dict[str, Any]


class IssuerUpdated(Event):
    TYPE = "issuer.updated"
    system: str
    issuer: dict[str, Any]


class IssuerDeleted(Event):
    TYPE = "issuer.deleted"
    system: str
    issuer: dict[str, Any]


class ProgramUpdated(Event):
    TYPE = "program.updated"
    system: str
    program: dict[str, Any]


class ProgramDeleted(Event):
    TYPE = "program.deleted"
    system: str
    program: dict[str, Any]


class MilestoneCreated(Event):
    TYPE = "milestone.created"
    system: str
    milestone: dict[str, Any]


class MilestoneUpdated(Event):
    """Its fields or its support badges changed."""

    TYPE = "milestone.updated"
    system: str
    milestone: dict[str, Any]


class MilestoneDeleted(Event):
    TYPE = "milestone.deleted"
    system: str
    milestone: dict[str, Any]
