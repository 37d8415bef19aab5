"""Every cross-service message model, and the registry from wire type to model."""

from __future__ import annotations

from shared.messages import badges, common, events
from shared.messages.base import Command, Event, Message, Query


def _registry() -> dict[str, type[Message]]:
    registry: dict[str, type[Message]] = {}
    for module in (badges, common, events):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Message) and "TYPE" in vars(value):
                if value.TYPE in registry:
                    raise RuntimeError(f"two message models share the type {value.TYPE!r}")
                registry[value.TYPE] = value
    return registry


MESSAGE_TYPES: dict[str, type[Message]] = _registry()
EVENT_TYPES: frozenset[str] = frozenset(
    name for name, model in MESSAGE_TYPES.items() if issubclass(model, Event)
)

__all__ = ["EVENT_TYPES", "MESSAGE_TYPES", "Command", "Event", "Message", "Query"]
