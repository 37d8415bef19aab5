from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.client import Client
from tests.support.infra import Isolation, Servers
from tests.support.stack import Stack, free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_stack(servers: Servers, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """A stack of the test's own, for tests that stop or kill processes."""
    created: list[tuple[Stack, Isolation]] = []

    def make(*, health: bool = False, **env: str) -> Stack:
        isolation = Isolation(servers).create()
        new = Stack(isolation, tmp_path / f"stack{len(created)}", health=health, **env)
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


@pytest.fixture
def second_gateway(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """Another gateway process on the shared stack (as `PLAUDIT_SCALE=gateway=2` runs); its
    base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with (tmp_path / "gateway2.log").open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.gateway"],
            env={**stack.env, "GATEWAY_PORT": str(port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )

    def ready() -> bool:
        assert process.poll() is None, (tmp_path / "gateway2.log").read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                return bool(json.loads(response.read())["services"].get("badges") == "ok")
        except (OSError, ValueError):
            return False

    try:
        wait_for(ready, timeout_s=30, what="the second gateway to be ready")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
