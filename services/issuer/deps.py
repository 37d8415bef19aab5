"""What every handler of the issuer service is given beside its message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.issuer.client import OpenCampusClient
from services.issuer.config import (
    FETCH_TIMEOUT_S,
    IMAGE_CACHE_BYTES,
    IMAGE_CACHE_TTL_S,
    IMAGE_MAX_BYTES,
    MAX_CONCURRENT_CALLS,
)
from services.issuer.fetcher import Fetcher
from services.issuer.keyring import Keyring
from services.issuer.repository import Repository
from services.issuer.scheduler import Scheduler
from shared.config import Settings
from shared.context import BatchContext, Context
from shared.crypto import SecretBox
from shared.db import Connection


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox
    scheduler: Scheduler
    keyring: Keyring
    # Outbound GETs through the SSRF guard: documents of other issuers, kept a minute...
    fetcher: Fetcher
    # ... and badge images to bake, larger and kept an hour.
    image_fetcher: Fetcher
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
    allow_private = bool(settings.webhook_allow_private)
    fetcher = Fetcher(allow_private=allow_private, timeout_s=FETCH_TIMEOUT_S)
    image_fetcher = Fetcher(
        allow_private=allow_private,
        timeout_s=FETCH_TIMEOUT_S,
        max_bytes=IMAGE_MAX_BYTES,
        cache_bytes=IMAGE_CACHE_BYTES,
        cache_ttl_s=IMAGE_CACHE_TTL_S,
    )
    scheduler = Scheduler(pool, settings, secrets, client)
    keyring = Keyring(secrets, settings.base_url)
    return Deps(settings, secrets, scheduler, keyring, fetcher, image_fetcher)


Ctx = Context[Deps]
BatchCtx = BatchContext[Deps]
