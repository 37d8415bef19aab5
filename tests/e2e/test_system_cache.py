"""The gateway's cache of systems (services/gateway/systems.py) through the real stack: the
issuer's and the webhooks service's routes find the system's id without asking badges once the
slug is known, and a slug deleted and taken again maps to its new system at once, on this
gateway and, through `system.deleted`, on another."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import aiohttp
import asyncpg
import pytest

from services.gateway.config import SYSTEM_CACHE_TTL_S
from tests.support.client import Client
from tests.support.events import eventually, system_id_of
from tests.support.factories import created, make_system, oc_body, organization_body, unique
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Any URL will do: these endpoints never receive a delivery (no event of theirs fans out).
HOOK = {"url": "http://127.0.0.1:9/hook"}
# How soon another gateway must see a recreated slug's new system: far within the TTL, so only
# the `system.deleted` broadcast can make it.
BROADCAST_DEADLINE_S = 5.0


def request_id() -> str:
    return str(uuid.uuid4())


def look_ups(stack: Stack, correlation_ids: set[str]) -> list[str]:
    """The correlation ids of these requests that made the gateway ask badges for a system."""
    return [
        line["correlation_id"]
        for line in stack.log_events("gateway")
        if line.get("event") == "system.looked_up" and line.get("correlation_id") in correlation_ids
    ]


async def owner_of(stack: Stack, table: str, row_id: str) -> int:
    """The system id a row of the issuer's or the webhooks service's schema was stored under."""
    conn = await asyncpg.connect(stack.isolation.database_url)
    try:
        system_id: int = await conn.fetchval(f"SELECT system_id FROM {table} WHERE id = $1", row_id)
        return system_id
    finally:
        await conn.close()


async def new_hook(client: Client, system: str) -> str:
    return str((await created(client, f"{system}/webhooks", HOOK, "webhook"))["id"])


async def test_a_known_slug_is_looked_up_once(client: Client, stack: Stack) -> None:
    system = await make_system(client)
    first = request_id()
    answer = await client.get(f"{system}/webhooks", headers={"X-Request-Id": first})
    assert answer.status == 200
    later = {request_id() for _ in range(6)}
    for index, rid in enumerate(sorted(later)):
        headers = {"X-Request-Id": rid}
        if index % 3 == 0:
            answer = await client.post(f"{system}/webhooks", json=HOOK, headers=headers)
        elif index % 3 == 1:
            answer = await client.get(f"{system}/credentials", headers=headers)
        else:
            answer = await client.get(f"{system}/open-campus", headers=headers)
        assert answer.status in (200, 201), answer.body
    # The gateway logs each look-up before its request is answered: nothing to wait for.
    assert look_ups(stack, {first, *later}) == [first]


async def test_an_unknown_slug_is_the_same_404(client: Client) -> None:
    slug = unique("nobody")
    for path in (f"/systems/{slug}/webhooks", f"/systems/{slug}/credentials"):
        answer = await client.get(path)
        assert answer.status == 404
        assert answer.body == {
            "code": "ResourceNotFound",
            "message": f"Could not find system field: `slug`, value: `{slug}`",
        }
    # Created through this gateway: found at once, though it was just cached as unknown.
    await created(client, "/systems", organization_body(slug), "system")
    assert (await client.get(f"/systems/{slug}/webhooks")).status == 200


async def test_a_recreated_slug_maps_to_its_new_system_at_once(
    client: Client, stack: Stack
) -> None:
    system = await make_system(client)
    slug = system.split("/")[-1]
    old_id = await system_id_of(client, system)
    old_hook = await new_hook(client, system)
    assert await owner_of(stack, "webhooks.endpoints", old_hook) == old_id

    assert (await client.delete(system)).status == 200
    await created(client, "/systems", organization_body(slug), "system")
    new_id = await system_id_of(client, system)
    assert new_id != old_id

    # No wait for the broadcast nor for the purge: the next requests already use the new id.
    assert (await client.get(f"{system}/webhooks/{old_hook}")).status == 404
    hook = await new_hook(client, system)
    assert await owner_of(stack, "webhooks.endpoints", hook) == new_id
    answer = await client.post(f"{system}/credentials", json=oc_body(unique("ref")))
    assert answer.status == 202, answer.body
    assert await owner_of(stack, "issuer.credentials", answer.body["credential"]["id"]) == new_id


async def test_another_gateway_forgets_a_deleted_system_on_the_broadcast(
    client: Client, stack: Stack, http: aiohttp.ClientSession, second_gateway: str
) -> None:
    assert BROADCAST_DEADLINE_S * 4 < SYSTEM_CACHE_TTL_S
    other = Client(http, second_gateway, stack.settings.master_secret_value)
    system = await make_system(client)
    slug = system.split("/")[-1]
    old_id = await system_id_of(client, system)
    assert await owner_of(stack, "webhooks.endpoints", await new_hook(other, system)) == old_id

    # Deleted and taken again through the first gateway: the second hears only the broadcast.
    assert (await client.delete(system)).status == 200
    await created(client, "/systems", organization_body(slug), "system")
    new_id = await system_id_of(client, system)

    async def uses_the_new_id() -> bool:
        return await owner_of(stack, "webhooks.endpoints", await new_hook(other, system)) == new_id

    await eventually(
        uses_the_new_id, "the second gateway to use the new system", BROADCAST_DEADLINE_S
    )


async def test_a_known_system_is_served_while_badges_is_down(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack()
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    known, cold = await make_system(client), await make_system(client)
    assert (await client.get(f"{known}/webhooks")).status == 200
    assert stack.stop("badges") == 0

    # Every ResolveSystem would go unanswered now: the known system needs none.
    assert (await client.get(f"{known}/webhooks")).status == 200
    assert (await client.post(f"{known}/webhooks", json=HOOK)).status == 201
    assert (await client.get(f"{known}/credentials")).status == 200
    assert (await client.put(f"{known}/open-campus", json={"apiKey": "k-1234"})).status == 200
    # A system not seen yet is looked up, and badges does not answer.
    answer = await client.get(f"{cold}/webhooks")
    assert answer.status == 503
    assert answer.body["code"] == "ServiceUnavailable"
