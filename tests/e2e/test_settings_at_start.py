"""What processes do with their configuration when they start: refuse what is unsafe, say why."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import aiohttp
import pytest

from tests.e2e.test_systems_api import new_slug, system_body
from tests.support.client import Client
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def start_gateway(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"MASTER_SECRET", "PLAUDIT_ENV"}}
    return subprocess.run(
        [sys.executable, "-m", "services.gateway"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_secrets_are_refused_beyond_loopback() -> None:
    done = start_gateway(PLAUDIT_ENV="development", GATEWAY_HOST="0.0.0.0", GATEWAY_PORT="1")
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0" in done.stderr
    assert "MASTER_SECRET" in done.stderr


def test_production_without_configuration_says_what_is_missing() -> None:
    done = start_gateway(PLAUDIT_ENV="production")
    assert done.returncode == 2
    assert "MASTER_SECRET" in done.stderr
    assert "PUBLIC_URL" in done.stderr


async def test_rate_limit_per_key(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(RATE_LIMIT_PER_S="0.5", RATE_LIMIT_BURST="2")
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    slug = new_slug()
    assert (await client.post("/systems", json=system_body(slug))).status == 201
    assert (await client.get(f"/systems/{slug}")).status == 200
    limited = await client.get(f"/systems/{slug}")
    assert limited.status == 429
    assert limited.body["code"] == "TooManyRequests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert (await client.get("/healthz", sign=False)).status == 200
