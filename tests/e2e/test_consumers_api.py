"""API consumers: master-only management; keys then authenticate under their own system."""

from __future__ import annotations

import pytest

from tests.e2e.test_systems_api import new_slug, system_body
from tests.support.client import Client

pytestmark = pytest.mark.e2e


async def make_system(client: Client) -> str:
    slug = new_slug()
    assert (await client.post("/systems", json=system_body(slug))).status == 201
    return slug


async def make_consumer(client: Client, slug: str) -> Client:
    answer = await client.post(f"/systems/{slug}/consumers", json={"description": "ci"})
    assert answer.status == 201
    consumer = answer.body["consumer"]
    return client.as_key(consumer["apiKey"], consumer["apiSecret"])


class TestManageConsumers:
    async def test_create_shows_the_secret_once(self, client: Client) -> None:
        slug = await make_system(client)
        created = await client.post(f"/systems/{slug}/consumers", json={"description": "site"})
        assert created.status == 201
        assert created.body["status"] == "created"
        consumer = created.body["consumer"]
        assert set(consumer) == {"apiKey", "apiSecret", "description", "createdAt"}
        assert consumer["description"] == "site"
        listed = await client.get(f"/systems/{slug}/consumers")
        assert listed.status == 200
        assert listed.body["consumers"] == [{k: v for k, v in consumer.items() if k != "apiSecret"}]

    async def test_create_for_unknown_system(self, client: Client) -> None:
        answer = await client.post("/systems/no-such-system/consumers", json={})
        assert answer.status == 404

    async def test_delete(self, client: Client) -> None:
        slug = await make_system(client)
        key = await make_consumer(client, slug)
        answer = await client.delete(f"/systems/{slug}/consumers/{key.key}")
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert answer.body["consumer"]["apiKey"] == key.key
        assert (await client.delete(f"/systems/{slug}/consumers/{key.key}")).status == 404

    async def test_paging(self, client: Client) -> None:
        slug = await make_system(client)
        for _ in range(3):
            await make_consumer(client, slug)
        page = await client.get(f"/systems/{slug}/consumers?page=1&count=2")
        assert len(page.body["consumers"]) == 2
        assert page.body["pageData"] == {"page": 1, "count": 2, "total": 3}


class TestConsumerKeys:
    async def test_key_works_under_its_own_system(self, client: Client) -> None:
        slug = await make_system(client)
        key = await make_consumer(client, slug)
        answer = await key.get(f"/systems/{slug}")
        assert answer.status == 200
        updated = await key.put(f"/systems/{slug}", json={"name": "By consumer"})
        assert updated.status == 200

    async def test_key_is_refused_outside_its_system(self, client: Client) -> None:
        mine, other = await make_system(client), await make_system(client)
        key = await make_consumer(client, mine)
        answer = await key.get(f"/systems/{other}")
        assert answer.status == 403
        assert answer.body["code"] == "NotAuthorized"

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/systems"),
            ("POST", "/systems"),
            ("DELETE", "/systems/{slug}"),
            ("GET", "/systems/{slug}/consumers"),
            ("POST", "/systems/{slug}/consumers"),
        ],
    )
    async def test_key_cannot_use_master_routes(
        self, client: Client, method: str, path: str
    ) -> None:
        slug = await make_system(client)
        key = await make_consumer(client, slug)
        body = system_body(new_slug()) if method == "POST" else None
        answer = await key.request(method, path.format(slug=slug), json=body)
        assert answer.status == 403
        assert answer.body["code"] == "NotAuthorized"
        assert (await client.get(f"/systems/{slug}")).status == 200

    async def test_deleted_key_is_refused_at_once(self, client: Client) -> None:
        slug = await make_system(client)
        key = await make_consumer(client, slug)
        assert (await key.get(f"/systems/{slug}")).status == 200  # now cached by the gateway
        await client.delete(f"/systems/{slug}/consumers/{key.key}")
        # The gateway hears consumer.deleted through the broker; poll briefly, far under 5 s.
        import asyncio
        import time

        deadline = time.monotonic() + 2.0
        while (status := (await key.get(f"/systems/{slug}")).status) != 403:
            assert time.monotonic() < deadline, "a deleted key still authenticated"
            await asyncio.sleep(0.02)
        assert status == 403

    async def test_wrong_secret(self, client: Client) -> None:
        slug = await make_system(client)
        key = await make_consumer(client, slug)
        forged = client.as_key(key.key, "not-the-secret")
        answer = await forged.get(f"/systems/{slug}")
        assert answer.status == 403
        assert answer.body["message"] == "Invalid token signature"
