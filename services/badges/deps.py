"""What every handler of the badges service is given beside its message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from services.badges.repository import Repository
from shared.config import Settings
from shared.context import BatchContext, Context
from shared.crypto import SecretBox
from shared.db import Connection


@dataclass(frozen=True)
class Deps:
    settings: Settings
    secrets: SecretBox
    # What handlers run their SQL through, on the message's connection (a fake in unit tests).
    repository: Callable[[Connection], Repository] = Repository
    # Set when an import starts running: its process's runner looks at once
    # (`services.badges.importing`), not at its next poll.
    imports_waiting: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        """PUBLIC_URL: the base of every absolute URL in responses and public documents."""
        return self.settings.base_url


def make_deps(settings: Settings, pool: asyncpg.Pool) -> Deps:
    return Deps(settings=settings, secrets=SecretBox(settings.encryption_keys))


Ctx = Context[Deps]
BatchCtx = BatchContext[Deps]


def repository(ctx: Ctx) -> Repository:
    """The message's repository: `ctx.deps.repository` on its connection."""
    return ctx.deps.repository(ctx.conn)
