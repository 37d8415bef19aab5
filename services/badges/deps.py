"""What every handler of the badges service is given beside its message."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.config import Settings
from shared.context import Context
from shared.crypto import SecretBox


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


Ctx = Context[Deps]
