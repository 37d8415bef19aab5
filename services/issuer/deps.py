"""What every handler of the issuer service is given beside its message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.issuer.client import OpenCampusClient
from services.issuer.config import FETCH_TIMEOUT_S, MAX_CONCURRENT_CALLS
from services.issuer.fetcher import Fetcher
from services.issuer.keyring import Keyring
from services.issuer.repository import Repository
from services.issuer.scheduler import Scheduler
from shared.config import Settings
from shared.context import Context
from shared.crypto import SecretBox
from shared.db import Connection


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox
    scheduler: Scheduler
    keyring: Keyring
    # Outbound GETs through the SSRF guard (documents of other issuers; later, badge images).
    fetcher: Fetcher
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
    fetcher = Fetcher(allow_private=bool(settings.webhook_allow_private), timeout_s=FETCH_TIMEOUT_S)
    scheduler = Scheduler(pool, settings, secrets, client)
    return Deps(settings, secrets, scheduler, Keyring(secrets, settings.base_url), fetcher)


Ctx = Context[Deps]
