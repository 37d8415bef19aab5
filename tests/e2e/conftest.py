from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.client import Client
from tests.support.infra import Isolation, Servers
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack: four services on their own database and vhost."""
    isolation = Isolation(servers).create()
    running = Stack(isolation, tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.close()
        isolation.drop()


@pytest.fixture
def own_stack(servers: Servers, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """A stack of the test's own, for tests that stop or kill processes."""
    created: list[tuple[Stack, Isolation]] = []

    def make(**env: str) -> Stack:
        isolation = Isolation(servers).create()
        new = Stack(isolation, tmp_path / f"stack{len(created)}", **env)
        new.log_dir.mkdir()
        created.append((new, isolation))
        return new

    yield make
    for made, isolation in created:
        made.close()
        isolation.drop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(stack: Stack, http: aiohttp.ClientSession) -> Client:
    return Client(http, stack.base_url, stack.settings.master_secret_value)
