"""What every unit test of the badges service runs its handlers with: an in-memory repository
(fakes.py) given through `Deps.repository`, and real settings and secrets."""

from __future__ import annotations

from typing import Any

import pytest

from services.badges.deps import Deps
from shared.config import Environment, Settings
from tests.unit.badges.fakes import BASE_URL, NO_CONNECTION, SECRETS, FakeRepository


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def deps(repo: FakeRepository) -> Deps:
    def repository(conn: Any) -> Any:
        assert conn is NO_CONNECTION  # built on the message's connection, as in production
        return repo

    settings = Settings(plaudit_env=Environment.TEST, public_url=BASE_URL)
    return Deps(settings=settings, secrets=SECRETS, repository=repository)
