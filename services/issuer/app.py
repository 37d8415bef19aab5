"""Composition root of the issuer service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.issuer import handlers
from services.issuer.client import OpenCampusClient
from services.issuer.config import MAX_CONCURRENT_CALLS, MIGRATIONS, SERVICE
from services.issuer.repository import Repository
from services.issuer.scheduler import Scheduler
from shared import topology
from shared.config import Settings
from shared.crypto import SecretBox
from shared.db import Connection
from shared.service import ServiceSpec


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox
    scheduler: Scheduler
    # What handlers run their SQL through, on the message's connection (a fake in unit tests).
    repository: Callable[[Connection], Repository] = Repository


def make_deps(settings: Settings, pool: asyncpg.Pool) -> Deps:
    secrets = SecretBox(settings.encryption_keys)
    assert settings.open_campus_base_url is not None  # required in production, defaulted else
    client = OpenCampusClient(
        settings.open_campus_base_url,
        settings.open_campus_timeout_s,
        max_connections=MAX_CONCURRENT_CALLS,
    )
    return Deps(settings, secrets, Scheduler(pool, settings, secrets, client))


SPEC = ServiceSpec(
    name=SERVICE,
    migrations=MIGRATIONS,
    make_deps=make_deps,
    request_handlers=handlers.REQUEST_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
    event_queue=topology.ISSUER_EVENTS.name,
    workers=lambda deps: [deps.scheduler],
)
