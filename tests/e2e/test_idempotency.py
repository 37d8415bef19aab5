"""`Idempotency-Key` on POST: replayed for 24 h, 409 while in flight, 422 for another body."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import asyncpg
import orjson
import pytest

from services.gateway.idempotency import KeyedRequest
from tests.support.client import Client
from tests.support.factories import make_badge, make_system, organization_body, unique
from tests.support.keyed_awards import KeyedAwards, each_awarded_once, each_issued_once
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

    async def test_a_client_error_of_the_service_is_the_answer_for_good(
        self, client: Client
    ) -> None:
        taken = organization_body(unique("sys"))
        assert (await client.post("/systems", json=taken)).status == 201
        headers = key()
        first = await client.post("/systems", json=taken, headers=headers)
        assert first.status == 409
        assert "Idempotent-Replayed" not in first.headers
        assert (await client.delete(f"/systems/{taken['slug']}")).status == 200
        # The slug is free now, yet the key's answer stays the first one: nothing is created.
        again = await client.post("/systems", json=taken, headers=headers)
        assert again.status == 409
        assert again.body == first.body
        assert again.headers["Idempotent-Replayed"] == "true"
        assert (await client.get(f"/systems/{taken['slug']}")).status == 404

    async def test_a_body_refused_before_reaching_a_service_leaves_the_key_free(
        self, client: Client
    ) -> None:
        headers = key()
        assert (await client.post("/systems", json={"slug": "x"}, headers=headers)).status == 400
        body = organization_body(unique("sys"))
        fixed = await client.post("/systems", json=body, headers=headers)
        assert fixed.status == 201
        assert "Idempotent-Replayed" not in fixed.headers

    async def test_keys_are_scoped_to_the_caller(self, client: Client) -> None:
        system, headers = await make_system(client), key()
        created_key = (await client.post(f"{system}/consumers", json={})).body["consumer"]
        consumer = client.as_key(created_key["apiKey"], created_key["apiSecret"])
        body = organization_body(unique("iss"))
        as_master = await client.post(f"{system}/issuers", json=body, headers=headers)
        as_consumer = await consumer.post(f"{system}/issuers", json=body, headers=headers)
        assert as_master.status == 201
        # Another caller's key of the same name is another key: it ran (and met the slug).
        assert as_consumer.status == 409
        assert "Idempotent-Replayed" not in as_consumer.headers

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
        # Another run of the same request holds its key's lock in the badges service.
        message_id = KeyedRequest(
            scope=f"master POST /systems\n{headers['Idempotency-Key']}", request_hash=""
        ).next_message_id()
        lock = int.from_bytes(message_id.bytes[:8], "big", signed=True)
        conn = await asyncpg.connect(stack.isolation.database_url)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", lock)
            answer = await client.post(
                "/systems", raw=payload, content_type="application/json", headers=headers
            )
            assert answer.status == 409
            assert answer.body["code"] == "IdempotencyKeyInUse"
            await conn.execute("SELECT pg_advisory_unlock($1)", lock)
            # Once it is free, the request runs (a 409 stored nothing).
            answer = await client.post(
                "/systems", raw=payload, content_type="application/json", headers=headers
            )
            assert answer.status == 201
        finally:
            await conn.close()

    async def test_concurrent_retries_create_one_thing(self, client: Client) -> None:
        body, headers = organization_body(unique("sys")), key()
        answers = await asyncio.gather(
            *(client.post("/systems", json=body, headers=headers) for _ in range(8))
        )
        statuses = sorted(answer.status for answer in answers)
        assert set(statuses) <= {201, 409}, statuses
        created = [answer for answer in answers if answer.status == 201]
        assert created
        assert all(answer.body == created[0].body for answer in created)
        listed = (await client.get("/systems")).body["systems"]
        assert [s["slug"] for s in listed].count(body["slug"]) == 1


class TestThroughCrashes:
    """Issue 8, item 15: a client retrying each award with its key after a transport error or a
    5xx, while every process is SIGKILLed in turn, ends with every award made once and every
    credential issued once."""

    AWARDS = 300
    CONCURRENCY = 16

    async def test_keyed_retries_through_sigkills_award_and_issue_exactly_once(
        self, own_stack: Callable[..., Stack], http: aiohttp.ClientSession
    ) -> None:
        stack = own_stack()
        stack.start()
        assert stack.sandbox is not None
        client = Client(http, stack.base_url, stack.settings.master_secret_value)
        system = await make_system(client)
        badge = await make_badge(
            client, system, credential={"kind": "OCA", "achievementType": "Badge"}
        )
        recipients = [f"{unique('r')}@example.org" for _ in range(self.AWARDS)]
        awards = KeyedAwards(client, badge, concurrency=self.CONCURRENCY, deadline_s=90)

        async def kill_in_turn() -> None:
            for share, name in enumerate(("badges", "gateway", "issuer", "webhooks"), start=1):
                await awards.reached(share * self.AWARDS // 6)
                stack.kill(name)
                stack.start(name, wait=False)

        killer = asyncio.create_task(kill_in_turn())
        await awards.make(recipients)
        await killer
        stack.wait_ready()

        assert awards.retried > 0, "no request was retried: nothing was tested"
        rows = await each_awarded_once(stack, awards, recipients)
        await each_issued_once(stack, rows, timeout_s=60)
