"""What every handler of the webhooks service is given beside its message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.webhooks.dispatcher import Dispatcher
from services.webhooks.repository import Repository
from shared.config import Settings
from shared.context import BatchContext, Context
from shared.crypto import SecretBox
from shared.db import Connection


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


Ctx = Context[Deps]
BatchCtx = BatchContext[Deps]
