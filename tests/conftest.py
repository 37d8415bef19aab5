"""Test policy (after nameko's): real Postgres and RabbitMQ over real connections, never mocks.
Each run gets its own database and vhost, dropped at the end; end-to-end tests run the services
as real processes against them. Asynchronous effects are awaited by polling with a deadline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.infra import Isolation, Servers
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    try:
        found = Servers.find()
    except RuntimeError as error:
        pytest.exit(str(error), returncode=2)
    yield found
    found.stop()


@pytest.fixture(scope="session")
def isolation(servers: Servers) -> Iterator[Isolation]:
    """The run's database and vhost, shared by the integration tests."""
    isolated = Isolation(servers).create()
    yield isolated
    isolated.drop()


@pytest.fixture(scope="session")
def stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack: four services on their own database and vhost, for the end-to-end
    and the browser tests."""
    isolation = Isolation(servers).create()
    running = Stack(isolation, tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.close()
        isolation.drop()
