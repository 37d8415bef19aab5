"""`Idempotency-Key` on POST: replayed for 24 h, 409 while in flight, 422 for another body."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from shared.bus import Bus
from shared.messages.idempotency import BeginIdempotentRequest
from shared.rpc import RpcClient
from tests.support.client import Client
from tests.support.factories import make_system, organization_body, unique
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def key() -> dict[str, str]:
    return {"Idempotency-Key": unique("key")}


class TestIdempotencyKey:
    async def test_a_retry_gets_the_first_response_and_creates_nothing(
        self, client: Client
    ) -> None:
        headers, body = key(), organization_body(unique("sys"))
        first = await client.post("/systems", json=body, headers=headers)
        again = await client.post("/systems", json=body, headers=headers)
        assert first.status == again.status == 201
        assert again.body == first.body
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        listed = (await client.get("/systems")).body["systems"]
        assert [s["slug"] for s in listed].count(body["slug"]) == 1

    async def test_another_body_with_the_same_key_is_refused(self, client: Client) -> None:
        headers = key()
        await client.post("/systems", json=organization_body(unique("sys")), headers=headers)
        other = await client.post(
            "/systems", json=organization_body(unique("sys")), headers=headers
        )
        assert other.status == 422
        assert other.body["code"] == "IdempotencyKeyMismatch"

    async def test_without_a_key_nothing_is_replayed(self, client: Client) -> None:
        body = organization_body(unique("sys"))
        assert (await client.post("/systems", json=body)).status == 201
        assert (await client.post("/systems", json=body)).status == 409

    async def test_a_client_error_is_replayed_too(self, client: Client) -> None:
        headers = key()
        first = await client.post("/systems", json={"slug": "x"}, headers=headers)
        again = await client.post("/systems", json={"slug": "x"}, headers=headers)
        assert first.status == again.status == 400
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_keys_are_scoped_to_the_path(self, client: Client) -> None:
        headers = key()
        system = await make_system(client)
        issuer = organization_body(unique("iss"))
        assert (await client.post(f"{system}/issuers", json=issuer, headers=headers)).status == 201
        other = await make_system(client)
        assert (await client.post(f"{other}/issuers", json=issuer, headers=headers)).status == 201

    async def test_a_replayed_api_key_creation_never_shows_the_secret_again(
        self, client: Client
    ) -> None:
        system, headers = await make_system(client), key()
        first = await client.post(f"{system}/consumers", json={}, headers=headers)
        again = await client.post(f"{system}/consumers", json={}, headers=headers)
        assert "apiSecret" in first.body["consumer"]
        assert again.status == 201
        assert again.body["consumer"] == {
            k: v for k, v in first.body["consumer"].items() if k != "apiSecret"
        }

    @pytest.mark.parametrize("bad", ["", "x" * 256, "has space", "ünïcode"])
    async def test_malformed_keys(self, client: Client, bad: str) -> None:
        answer = await client.post(
            "/systems", json=organization_body(unique("sys")), headers={"Idempotency-Key": bad}
        )
        assert answer.status == 400
        assert answer.body["parameter"] == "Idempotency-Key"

    async def test_a_key_in_flight_answers_409(self, client: Client, stack: Stack) -> None:
        payload, headers = orjson.dumps(organization_body(unique("sys"))), key()
        # Another gateway has claimed the key and is still running the request.
        claim = BeginIdempotentRequest(
            scope="master POST /systems",
            key=headers["Idempotency-Key"],
            request_hash=hashlib.sha256(payload).hexdigest(),
        )
        bus = await Bus.connect(stack.isolation.amqp_url, client_name="tests")
        rpc = RpcClient(bus, name="tests")
        await rpc.start()
        try:
            assert await rpc.call("badges", claim, correlation_id="t", timeout_s=5) == {
                "state": "new"
            }
        finally:
            await rpc.stop()
            await bus.close()
        answer = await client.post(
            "/systems", raw=payload, content_type="application/json", headers=headers
        )
        assert answer.status == 409
        assert answer.body["code"] == "IdempotencyKeyInUse"
