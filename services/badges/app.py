"""Composition root of the badges service."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.badges import handlers
from services.badges.config import MIGRATIONS, SERVICE
from shared import topology
from shared.config import Settings
from shared.crypto import SecretBox
from shared.service import ServiceSpec


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox

    @property
    def base_url(self) -> str:
        """PUBLIC_URL: the base of every absolute URL in responses and public documents."""
        return self.settings.base_url


def make_deps(settings: Settings, pool: asyncpg.Pool) -> Deps:
    return Deps(settings=settings, secrets=SecretBox(settings.encryption_keys))


SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.BADGES_EVENTS.name,
)
