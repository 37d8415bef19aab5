"""BadgeKit's verify-request.test.js, ported: the same requests, against the real gateway."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from tests.support.client import Client
from tests.support.factories import make_system
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def token(secret: str, **claims: Any) -> dict[str, str]:
    encoded = jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, "HS256")
    return {"Authorization": f'JWT token="{encoded}"'}


@pytest.fixture
async def consumer(client: Client) -> tuple[str, str, str]:
    """A system and an API key of its own ("radical" in BadgeKit's fixtures)."""
    system = await make_system(client)
    made = (await client.post(f"{system}/consumers", json={})).body["consumer"]
    return system, made["apiKey"], made["apiSecret"]


async def test_missing_authorization_is_refused(client: Client) -> None:
    answer = await client.get("/systems", sign=False)
    assert answer.status == 403
    assert answer.body["code"] == "NotAuthorized"


async def test_master_get_with_a_query_string(client: Client) -> None:
    assert (await client.get("/systems?page=1&count=1")).status == 200


async def test_master_post_with_a_body_hash(client: Client) -> None:
    answer = await client.post(
        "/systems",
        json={"slug": f"vr-{time.time_ns()}", "name": "n", "url": "https://x.example.org"},
    )
    assert answer.status == 201


def claims(system: str, api_key: str, **overrides: Any) -> dict[str, Any]:
    return {
        "key": api_key,
        "method": "GET",
        "path": system,
        "exp": int(time.time()) + 60,
        **overrides,
    }


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("bad secret", {"secret": "not-the-secret-at-all-but-long-enough-0123456789"}),
        ("unknown key", {"key": "no-such-key"}),
        ("wrong path", {"path": "/systems"}),
        ("expired", {"exp": int(time.time()) - 10}),
        ("wrong method", {"method": "POST"}),
        ("null method", {"method": None}),
        ("null path", {"path": None}),
    ],
)
async def test_consumer_tokens_that_are_refused(
    client: Client, consumer: tuple[str, str, str], case: str, overrides: dict[str, Any]
) -> None:
    system, key, secret = consumer
    secret = overrides.pop("secret", secret)
    answer = await client.get(system, headers=token(secret, **claims(system, key, **overrides)))
    assert answer.status == 403, case
    assert answer.body["code"] == "NotAuthorized"


async def test_consumer_token_for_another_system(
    client: Client, consumer: tuple[str, str, str]
) -> None:
    _, key, secret = consumer
    other = await make_system(client)
    answer = await client.get(other, headers=token(secret, **claims(other, key)))
    assert answer.status == 403


async def test_consumer_token_that_is_right(client: Client, consumer: tuple[str, str, str]) -> None:
    system, key, secret = consumer
    answer = await client.get(system, headers=token(secret, **claims(system, key)))
    assert answer.status == 200


async def test_public_urls_and_healthcheck_need_no_token(client: Client, stack: Stack) -> None:
    assert (await client.get("/public/badges", sign=False)).status == 200
    assert (await client.get("/healthcheck", sign=False)).body["app"] == "BadgeKit API"
