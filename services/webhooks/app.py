"""Composition root of the webhooks service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.webhooks import handlers
from services.webhooks.config import MIGRATIONS, SERVICE
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.repository import Repository
from shared import topology
from shared.config import Settings
from shared.crypto import SecretBox
from shared.db import Connection
from shared.service import ServiceSpec


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox
    dispatcher: Dispatcher
    # What handlers run their SQL through, on the message's connection (a fake in unit tests).
    repository: Callable[[Connection], Repository] = Repository


def make_deps(settings: Settings, pool: asyncpg.Pool) -> Deps:
    secrets = SecretBox(settings.encryption_keys)
    return Deps(settings, secrets, Dispatcher(pool, settings, secrets))


SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.WEBHOOKS_EVENTS.name,
    workers=lambda deps: [deps.dispatcher],
)
