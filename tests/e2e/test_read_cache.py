"""The gateway's read cache (services/gateway/read_cache.py) through the real stack: a badge, a
badge list and a public assertion read again are answered without the badges service, byte for
byte as before; a change shows at once on the gateway that made it and, through its event,
within moments on another, far sooner than the cache's TTL would allow."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from services.gateway.config import READ_CACHE_TTL_S
from shared.tokens import authorization, mint
from tests.support.client import Answer, Client
from tests.support.events import eventually
from tests.support.factories import (
    badge_body,
    created,
    make_badge,
    make_issuer,
    organization_body,
    unique,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# How soon another gateway must show a change: far within the TTL, so only the change's event
# can make it.
BROADCAST_DEADLINE_S = 2.0
# Headers that differ between any two answers.
PER_REQUEST = {"date", "x-request-id"}


def look_ups(stack: Stack, correlation_ids: set[str]) -> list[str]:
    """The correlation ids of these requests that the read cache asked badges for."""
    return [
        line["correlation_id"]
        for line in stack.log_events("gateway")
        if line.get("event") == "read_cache.looked_up"
        and line.get("correlation_id") in correlation_ids
    ]


async def raw_get(
    http: aiohttp.ClientSession, client: Client, path: str, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A GET as sent on the wire: its status, its headers but those of every answer, its body."""
    token = mint(client.secret, method="GET", path=path, body=None, key=client.key)
    headers = {"Authorization": authorization(token), "X-Request-Id": request_id}
    async with http.get(client.base_url + path, headers=headers) as response:
        kept = [(k, v) for k, v in response.headers.items() if k.lower() not in PER_REQUEST]
        return response.status, kept, await response.read()


async def award(client: Client, badge: str) -> dict[str, Any]:
    email = f"{unique('earner')}@example.org"
    instance = await created(client, f"{badge}/instances", {"email": email}, "instance")
    return {**instance, "email": email}


def names(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [badge["name"] for badge in answer.body["badges"]]


async def test_a_read_again_is_answered_without_badges_byte_for_byte(
    client: Client, stack: Stack, http: aiohttp.ClientSession
) -> None:
    issuer = await make_issuer(client)
    system = issuer.split("/issuers/")[0]
    badge = await make_badge(client, issuer)
    live = await award(client, badge)
    revoked = await award(client, badge)
    assert (await client.delete(f"{badge}/instances/{revoked['email']}")).status == 200
    reads = [
        f"{system}/badges",
        f"{issuer}/badges?archived=any&page=1&count=5",
        badge,
        f"/public/assertions/{live['slug']}",
        f"/public/assertions/{revoked['slug']}",
    ]
    for path in reads:

        async def read_twice(path: str = path) -> bool:
            first, second = str(uuid.uuid4()), str(uuid.uuid4())
            uncached = await raw_get(http, client, path, first)
            cached = await raw_get(http, client, path, second)
            assert uncached[0] in (200, 410), uncached
            assert cached == uncached, path
            # The gateway logs each look-up before its request is answered. The broadcast of
            # a change made just before (the revocation, say) may arrive between the two reads
            # and drop the entry: then the pair is read again.
            return look_ups(stack, {first, second}) == [first]

        await eventually(read_twice, f"a second read of {path} answered from the cache")


async def test_a_404_is_never_kept(client: Client) -> None:
    issuer = await make_issuer(client)
    slug = unique("badge")
    assert (await client.get(f"{issuer}/badges/{slug}")).status == 404
    await created(client, f"{issuer}/badges", badge_body(slug=slug), "badge")
    assert (await client.get(f"{issuer}/badges/{slug}")).status == 200


class TestThisGatewayShowsItsWritesAtOnce:
    async def test_a_badge_updated_archived_and_deleted(self, client: Client) -> None:
        issuer = await make_issuer(client)
        system = issuer.split("/issuers/")[0]
        badge = await make_badge(client, issuer, name="Before")
        assert names(await client.get(f"{system}/badges")) == ["Before"]
        assert (await client.get(badge)).body["badge"]["name"] == "Before"

        assert (await client.put(badge, json={"name": "After"})).status == 200
        assert names(await client.get(f"{system}/badges")) == ["After"]
        assert (await client.get(badge)).body["badge"]["name"] == "After"

        assert (await client.put(badge, json={"archived": True})).status == 200
        assert names(await client.get(f"{system}/badges")) == []
        assert names(await client.get(f"{system}/badges?archived=true")) == ["After"]

        assert (await client.delete(badge)).status == 200
        assert names(await client.get(f"{system}/badges?archived=true")) == []
        assert (await client.get(badge)).status == 404

    async def test_a_new_badge_joins_the_list(self, client: Client) -> None:
        issuer = await make_issuer(client)
        assert names(await client.get(f"{issuer}/badges")) == []
        await make_badge(client, issuer, name="New")
        assert names(await client.get(f"{issuer}/badges")) == ["New"]

    async def test_an_issuer_renamed_shows_in_its_badges(self, client: Client) -> None:
        issuer = await make_issuer(client)
        badge = await make_badge(client, issuer)
        assert (await client.get(badge)).body["badge"]["issuer"]["name"] != "Renamed"
        assert (await client.put(issuer, json={"name": "Renamed"})).status == 200
        assert (await client.get(badge)).body["badge"]["issuer"]["name"] == "Renamed"

    async def test_a_revoked_assertion_answers_410_at_once(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge)
        path = f"/public/assertions/{instance['slug']}"
        assert (await client.get(path, sign=False)).status == 200
        assert (await client.get(path, sign=False)).status == 200

        assert (await client.delete(f"{badge}/instances/{instance['email']}")).status == 200
        answer = await client.get(path, sign=False)
        assert answer.status == 410
        assert answer.body["revoked"] is True

    async def test_a_deleted_badge_takes_its_assertions_along(self, client: Client) -> None:
        badge = await make_badge(client)
        path = f"/public/assertions/{(await award(client, badge))['slug']}"
        assert (await client.get(path, sign=False)).status == 200
        assert (await client.delete(badge)).status == 200
        assert (await client.get(path, sign=False)).status == 404


class TestAnotherGatewayHearsTheChange:
    @pytest.fixture
    def other(self, client: Client, second_gateway: str) -> Client:
        assert BROADCAST_DEADLINE_S * 2 <= READ_CACHE_TTL_S
        return Client(client.session, second_gateway, client.secret)

    async def test_a_badge_updated_then_deleted(self, client: Client, other: Client) -> None:
        issuer = await make_issuer(client)
        badge = await make_badge(client, issuer, name="Before")
        assert names(await other.get(f"{issuer}/badges")) == ["Before"]
        assert (await other.get(badge)).body["badge"]["name"] == "Before"

        assert (await client.put(badge, json={"name": "After"})).status == 200

        async def renamed() -> bool:
            return names(await other.get(f"{issuer}/badges")) == ["After"]

        await eventually(
            renamed, "the other gateway's list to show the update", BROADCAST_DEADLINE_S
        )

        assert (await client.delete(badge)).status == 200

        async def gone() -> bool:
            return (await other.get(badge)).status == 404

        await eventually(gone, "the other gateway to forget the badge", BROADCAST_DEADLINE_S)

    async def test_a_revocation(self, client: Client, other: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge)
        path = f"/public/assertions/{instance['slug']}"
        assert (await other.get(path, sign=False)).status == 200

        assert (await client.delete(f"{badge}/instances/{instance['email']}")).status == 200

        async def revoked() -> bool:
            return (await other.get(path, sign=False)).status == 410

        await eventually(revoked, "the other gateway to answer 410", BROADCAST_DEADLINE_S)

    async def test_a_program_renamed_and_a_milestone_added(
        self, client: Client, other: Client
    ) -> None:
        issuer = await make_issuer(client)
        program = f"{issuer}/programs/{unique('prog')}"
        slug = program.rsplit("/", 1)[1]
        await created(client, f"{issuer}/programs", organization_body(slug), "program")
        badge = await make_badge(client, program)
        shown = (await other.get(badge)).body["badge"]
        assert (shown["program"]["name"], shown["milestones"]) == (f"Name of {slug}", [])

        assert (await client.put(program, json={"name": "Renamed"})).status == 200

        async def renamed() -> bool:
            return (await other.get(badge)).body["badge"]["program"]["name"] == "Renamed"

        await eventually(renamed, "the other gateway to show the new name", BROADCAST_DEADLINE_S)

        system = issuer.split("/issuers/")[0]
        support = await make_badge(client, system)
        primary_id = (await client.get(badge)).body["badge"]["id"]
        support_id = (await client.get(support)).body["badge"]["id"]
        milestone = {
            "primaryBadgeId": primary_id,
            "supportBadges": [support_id],
            "numberRequired": 1,
        }
        answer = await client.post(f"{system}/milestones", json=milestone)
        assert answer.status == 201, answer.body

        async def with_milestone() -> bool:
            return len((await other.get(badge)).body["badge"]["milestones"]) == 1

        await eventually(
            with_milestone, "the other gateway to show the milestone", BROADCAST_DEADLINE_S
        )
