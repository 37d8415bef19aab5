"""Every cross-service message model, and the registry from wire type to model.

Each module of this package holds the models of one resource family; the registry finds every
model that declares a `TYPE`, so a new module needs no registration.
"""

from __future__ import annotations

import importlib
import pkgutil

from shared.messages.base import Command, Event, Message, Query


def _registry() -> dict[str, type[Message]]:
    registry: dict[str, type[Message]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Message) and "TYPE" in vars(value):
                known = registry.setdefault(value.TYPE, value)
                if known is not value:
                    raise RuntimeError(f"two message models share the type {value.TYPE!r}")
    return registry


MESSAGE_TYPES: dict[str, type[Message]] = _registry()
EVENT_TYPES: frozenset[str] = frozenset(
    name for name, model in MESSAGE_TYPES.items() if issubclass(model, Event)
)

__all__ = ["EVENT_TYPES", "MESSAGE_TYPES", "Command", "Event", "Message", "Query"]
