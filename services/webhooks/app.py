"""Composition root of the webhooks service."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.webhooks import handlers
from services.webhooks.config import MIGRATIONS, SERVICE
from shared import topology
from shared.bus import Bus
from shared.config import Settings
from shared.service import ServiceSpec


@dataclass(frozen=True)
class Deps:
    settings: Settings


def make_deps(settings: Settings, pool: asyncpg.Pool, bus: Bus) -> Deps:
    return Deps(settings=settings)


SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers={},
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.WEBHOOKS_EVENTS.name,
)
