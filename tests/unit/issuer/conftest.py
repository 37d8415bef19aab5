"""The issuer's handlers run on these: an in-memory repository, a scheduler that handlers only
wake, and Deps built from them."""

from __future__ import annotations

import pytest

from services.issuer.deps import Deps
from services.issuer.fetcher import Fetcher
from services.issuer.keyring import Keyring
from shared.config import Environment, Settings
from tests.unit.issuer.fakes import SECRETS, FakeCredentials, FakeRepository, FakeScheduler


@pytest.fixture
def repository() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def repo(repository: FakeRepository) -> FakeCredentials:
    return repository.credentials


@pytest.fixture
def scheduler() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def deps(repository: FakeRepository, scheduler: FakeScheduler) -> Deps:
    settings = Settings(plaudit_env=Environment.TEST)
    return Deps(
        settings,
        SECRETS,
        scheduler,
        Keyring(SECRETS, settings.base_url),
        Fetcher(allow_private=True),
        Fetcher(allow_private=True, max_bytes=4096),
        repository=lambda conn: repository,
    )
