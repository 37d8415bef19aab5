"""Webhook endpoints through the real gateway and webhooks service: create (the secret shown once),
list, get, update, re-enable, delete; event-type filters and URL validation; tenancy (another
system's key sees nothing) and 404s; a deleted system's endpoints are purged.

The helpers at the top are shared by the other webhook test modules."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from standardwebhooks import Webhook

from tests.support.client import Client
from tests.support.events import eventually, system_id_of
from tests.support.factories import created, make_badge, make_system, organization_body, unique
from tests.support.receivers import Received, Receivers, receiving
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Deliveries are asynchronous: generous deadlines, since this 2-core machine is shared.
DEADLINE_S = 30.0


# --- shared helpers -----------------------------------------------------------------------------


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


async def register(client: Client, system: str, url: str, **body: Any) -> dict[str, Any]:
    """A new endpoint of `system` (a path, `/systems/<slug>`): the webhook with its secret."""
    return await created(client, f"{system}/webhooks", {"url": url, **body}, "webhook")


async def award(client: Client, badge: str, recipient: str | None = None, **body: Any) -> Any:
    """Award the badge at path `badge`; the instance as the 201 shows it."""
    recipient = recipient or f"{unique('learner')}@example.org"
    answer = await client.post(f"{badge}/instances", json={"email": recipient, **body})
    assert answer.status == 201, f"award: {answer.status} {answer.body}"
    return answer.body["instance"]


def verified(received: Received, secret: str) -> Any:
    """The body, verified as a subscriber verifies it (raises on a bad signature)."""
    return Webhook(secret).verify(received.body, dict(received.headers))


async def deliveries(
    client: Client, system: str, webhook_id: str, query: str = ""
) -> list[dict[str, Any]]:
    answer = await client.get(f"{system}/webhooks/{webhook_id}/deliveries{query}")
    assert answer.status == 200, answer.body
    found: list[dict[str, Any]] = answer.body["deliveries"]
    return found


async def settled(
    client: Client, system: str, webhook_id: str, count: int, status: str | None = None
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once `count` of them are finished (with `status`, if given)."""
    last: list[Any] = [None]

    async def done() -> list[dict[str, Any]] | None:
        found = last[0] = await deliveries(client, system, webhook_id)
        finished = [
            d
            for d in found
            if d["status"] != "pending" and (status is None or d["status"] == status)
        ]
        return found if len(finished) >= count else None

    try:
        result: list[dict[str, Any]] = await eventually(
            done, f"{count} finished deliveries", DEADLINE_S
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {last[0]}") from None
    return result


async def webhook(client: Client, system: str, webhook_id: str) -> dict[str, Any]:
    answer = await client.get(f"{system}/webhooks/{webhook_id}")
    assert answer.status == 200, answer.body
    found: dict[str, Any] = answer.body["webhook"]
    return found


async def stored_endpoint(stack: Stack, webhook_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(stack.isolation.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM webhooks.endpoints WHERE id = $1", webhook_id)
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


def detail_fields(answer_body: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in answer_body["details"]}


HOOK_URL = "https://hooks.example.org/plaudit"


# --- create, read, update, delete ---------------------------------------------------------------


class TestCreate:
    async def test_the_secret_is_shown_once_with_a_location(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        answer = await client.post(
            f"{system}/webhooks",
            json={"url": HOOK_URL, "events": ["badge.awarded"], "description": "awards"},
        )
        assert answer.status == 201, answer.body
        assert answer.body["status"] == "created"
        hook = answer.body["webhook"]
        assert hook["url"] == HOOK_URL
        assert hook["events"] == ["badge.awarded"]
        assert hook["format"] == "standard"
        assert hook["description"] == "awards"
        assert hook["enabled"] is True
        assert hook["secret"].startswith("whsec_")
        assert 24 <= len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) <= 64
        assert answer.headers["Location"] == f"{stack.base_url}{system}/webhooks/{hook['id']}"
        shown = {k: v for k, v in hook.items() if k != "secret"}
        assert await webhook(client, system, hook["id"]) == shown
        assert (await client.get(f"{system}/webhooks")).body == {"webhooks": [shown]}
        for service in ("gateway", "webhooks"):
            assert hook["secret"] not in stack.log_text(service)
        stored = await stored_endpoint(stack, hook["id"])
        assert hook["secret"] not in str(stored)  # encrypted at rest
        assert hook["secret"].removeprefix("whsec_") not in str(stored)

    async def test_every_endpoint_gets_a_secret_of_its_own(self, client: Client) -> None:
        system = await make_system(client)
        first = await register(client, system, HOOK_URL)
        second = await register(client, system, HOOK_URL)
        assert first["id"] != second["id"]
        assert first["secret"] != second["secret"]

    async def test_defaults_to_every_event(self, client: Client) -> None:
        hook = await register(client, await make_system(client), HOOK_URL)
        assert hook["events"] == ["*"]
        assert hook["description"] is None

    async def test_an_idempotent_replay_omits_the_secret(self, client: Client) -> None:
        system = await make_system(client)
        key = {"Idempotency-Key": unique("idem")}
        first = await client.post(f"{system}/webhooks", json={"url": HOOK_URL}, headers=key)
        again = await client.post(f"{system}/webhooks", json={"url": HOOK_URL}, headers=key)
        assert first.status == again.status == 201
        assert again.body["webhook"]["id"] == first.body["webhook"]["id"]
        assert "secret" in first.body["webhook"]
        assert "secret" not in again.body["webhook"]
        assert len((await client.get(f"{system}/webhooks")).body["webhooks"]) == 1

    @pytest.mark.parametrize(
        "events",
        [["*"], ["badge.awarded", "badge.revoked"], ["webhook.test"], ["credential.issued"]],
    )
    async def test_event_filters(self, client: Client, events: list[str]) -> None:
        hook = await register(client, await make_system(client), HOOK_URL, events=events)
        assert hook["events"] == events

    async def test_a_repeated_event_type_is_kept_once(self, client: Client) -> None:
        events = ["badge.awarded", "badge.awarded", "badge.revoked"]
        hook = await register(client, await make_system(client), HOOK_URL, events=events)
        assert hook["events"] == ["badge.awarded", "badge.revoked"]

    @pytest.mark.parametrize(
        "events",
        [
            ["badge.exploded"],
            ["badge.awarded", "system.created"],  # not one of the types subscribers may take
            [],
            [None],
        ],
    )
    async def test_unknown_event_types_are_refused_with_details(
        self, client: Client, events: Any
    ) -> None:
        answer = await client.post(
            f"{await make_system(client)}/webhooks", json={"url": HOOK_URL, "events": events}
        )
        assert answer.status == 400, answer.body
        assert answer.body["code"] == "ValidationError"
        assert detail_fields(answer.body) == {"events"}

    async def test_the_refusal_names_the_unknown_type_and_the_known_ones(
        self, client: Client
    ) -> None:
        answer = await client.post(
            f"{await make_system(client)}/webhooks",
            json={"url": HOOK_URL, "events": ["badge.exploded"]},
        )
        [detail] = answer.body["details"]
        assert "badge.exploded" in detail["message"]
        assert "badge.awarded" in detail["message"]

    @pytest.mark.parametrize(
        "url", ["not a url", "ftp://hooks.example.org/x", "hooks.example.org/x", "http://", ""]
    )
    async def test_a_bad_url_is_refused(self, client: Client, url: str) -> None:
        answer = await client.post(f"{await make_system(client)}/webhooks", json={"url": url})
        assert answer.status == 400, answer.body
        assert answer.body["code"] == "ValidationError"
        assert detail_fields(answer.body) == {"url"}

    async def test_a_missing_url_and_a_bad_format_are_refused_together(
        self, client: Client
    ) -> None:
        answer = await client.post(
            f"{await make_system(client)}/webhooks", json={"format": "xml", "events": ["nope"]}
        )
        assert answer.status == 400
        assert detail_fields(answer.body) == {"url", "format", "events"}

    async def test_form_bodies(self, client: Client) -> None:
        system = await make_system(client)
        events = ["badge.awarded", "badge.revoked"]
        answer = await client.post(f"{system}/webhooks", form={"url": HOOK_URL, "events": events})
        assert answer.status == 201, answer.body
        assert answer.body["webhook"]["events"] == events


class TestList:
    async def test_pages(self, client: Client) -> None:
        system = await make_system(client)
        made = [await register(client, system, f"{HOOK_URL}/{n}") for n in range(3)]
        first = await client.get(f"{system}/webhooks?page=1&count=2")
        assert first.body["pageData"] == {"page": 1, "count": 2, "total": 3}
        second = await client.get(f"{system}/webhooks?page=2&count=2")
        assert second.body["pageData"] == {"page": 2, "count": 2, "total": 3}
        listed = first.body["webhooks"] + second.body["webhooks"]
        assert [hook["id"] for hook in listed] == [hook["id"] for hook in made]
        assert all("secret" not in hook for hook in listed)
        assert "pageData" not in (await client.get(f"{system}/webhooks")).body

    async def test_a_new_system_has_none(self, client: Client) -> None:
        answer = await client.get(f"{await make_system(client)}/webhooks")
        assert answer.status == 200
        assert answer.body == {"webhooks": []}


class TestUpdate:
    async def test_url_events_and_description_change(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL, description="before")
        changes = {
            "url": f"{HOOK_URL}/v2",
            "events": ["badge.revoked", "application.reviewed"],
            "description": "after",
        }
        answer = await client.put(f"{system}/webhooks/{hook['id']}", json=changes)
        assert answer.status == 200, answer.body
        assert answer.body["status"] == "updated"
        assert "secret" not in answer.body["webhook"]
        assert {k: answer.body["webhook"][k] for k in changes} == changes
        assert await webhook(client, system, hook["id"]) == answer.body["webhook"]

    async def test_omitted_fields_are_kept(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL, events=["badge.awarded"], description="d")
        answer = await client.put(f"{system}/webhooks/{hook['id']}", json={"description": "e"})
        assert answer.body["webhook"]["url"] == HOOK_URL
        assert answer.body["webhook"]["events"] == ["badge.awarded"]
        assert answer.body["webhook"]["description"] == "e"

    async def test_disabled_then_enabled_again(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL)
        path = f"{system}/webhooks/{hook['id']}"
        off = (await client.put(path, json={"enabled": False})).body["webhook"]
        assert off["enabled"] is False
        assert off["disabledReason"]
        on = (await client.put(path, json={"enabled": True})).body["webhook"]
        assert on["enabled"] is True
        assert "disabledReason" not in on

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"events": ["badge.exploded"]}, "events"),
            ({"events": []}, "events"),
            ({"url": "not a url"}, "url"),
            ({"url": None}, "url"),
            ({"format": "xml"}, "format"),
            ({"enabled": None}, "enabled"),
        ],
    )
    async def test_invalid_changes_are_refused(
        self, client: Client, changes: dict[str, Any], field: str
    ) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL)
        answer = await client.put(f"{system}/webhooks/{hook['id']}", json=changes)
        assert answer.status == 400, answer.body
        assert detail_fields(answer.body) == {field}
        assert await webhook(client, system, hook["id"]) == {
            k: v for k, v in hook.items() if k != "secret"
        }


class TestDelete:
    async def test_delete_then_gone(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL)
        path = f"{system}/webhooks/{hook['id']}"
        answer = await client.delete(path)
        assert answer.status == 200
        assert answer.body["status"] == "deleted"
        assert answer.body["webhook"]["id"] == hook["id"]
        assert "secret" not in answer.body["webhook"]
        assert (await client.get(path)).status == 404
        assert (await client.delete(path)).status == 404
        assert (await client.get(f"{system}/webhooks")).body == {"webhooks": []}


# --- tenancy and 404s ---------------------------------------------------------------------------


async def consumer_of(client: Client, system: str) -> Client:
    answer = await client.post(f"{system}/consumers", json={"description": "site"})
    assert answer.status == 201, answer.body
    consumer = answer.body["consumer"]
    return client.as_key(consumer["apiKey"], consumer["apiSecret"])


class TestTenancy:
    async def test_a_consumer_key_manages_its_own_systems_endpoints(self, client: Client) -> None:
        system = await make_system(client)
        own = await consumer_of(client, system)
        hook = await register(own, system, HOOK_URL)
        assert hook["secret"].startswith("whsec_")
        listed = (await own.get(f"{system}/webhooks")).body["webhooks"]
        assert [found["id"] for found in listed] == [hook["id"]]

    async def test_another_systems_key_sees_nothing(self, client: Client) -> None:
        system, other = await make_system(client), await make_system(client)
        hook = await register(client, system, HOOK_URL)
        stranger = await consumer_of(client, other)
        base = f"{system}/webhooks"
        one = f"{base}/{hook['id']}"
        for method, path, body in [
            ("GET", base, None),
            ("POST", base, {"url": HOOK_URL}),
            ("GET", one, None),
            ("PUT", one, {"description": "mine now"}),
            ("DELETE", one, None),
            ("GET", f"{one}/deliveries", None),
            ("POST", f"{one}/rotate-secret", None),
            ("POST", f"{one}/test", None),
            ("POST", f"{one}/recover", {"since": "2024-01-01T00:00:00Z"}),
        ]:
            answer = await stranger.request(method, path, json=body)
            assert answer.status == 403, (method, path, answer.status, answer.body)
            assert answer.body["code"] == "NotAuthorized"
        assert (await webhook(client, system, hook["id"]))["description"] is None
        assert len((await client.get(base)).body["webhooks"]) == 1

    async def test_an_endpoint_is_not_found_under_another_system(self, client: Client) -> None:
        system, other = await make_system(client), await make_system(client)
        hook = await register(client, system, HOOK_URL)
        path = f"{other}/webhooks/{hook['id']}"
        assert (await client.get(path)).status == 404
        assert (await client.put(path, json={"description": "x"})).status == 404
        assert (await client.delete(path)).status == 404
        assert (await client.get(f"{path}/deliveries")).status == 404
        assert (await client.post(f"{path}/test")).status == 404
        assert (await webhook(client, system, hook["id"]))["description"] is None


class TestNotFound:
    async def test_unknown_system(self, client: Client) -> None:
        answer = await client.get(f"/systems/{unique('missing')}/webhooks")
        assert answer.status == 404
        assert answer.body["code"] == "ResourceNotFound"
        answer = await client.post(f"/systems/{unique('missing')}/webhooks", json={"url": HOOK_URL})
        assert answer.status == 404

    @pytest.mark.parametrize("webhook_id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_endpoint(self, client: Client, webhook_id: str) -> None:
        system = await make_system(client)
        path = f"{system}/webhooks/{webhook_id}"
        for method, tail, body in [
            ("GET", "", None),
            ("PUT", "", {"description": "x"}),
            ("DELETE", "", None),
            ("GET", "/deliveries", None),
            ("POST", "/rotate-secret", None),
            ("POST", "/test", None),
            ("POST", "/recover", {"since": "2024-01-01T00:00:00Z"}),
            ("POST", f"/deliveries/{uuid.uuid4()}/retry", None),
        ]:
            answer = await client.request(method, path + tail, json=body)
            assert answer.status == 404, (method, tail, answer.body)
            assert answer.body["code"] == "ResourceNotFound"

    @pytest.mark.parametrize("delivery_id", [str(uuid.uuid4()), "not-a-uuid"])
    async def test_unknown_delivery(self, client: Client, delivery_id: str) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL)
        answer = await client.post(f"{system}/webhooks/{hook['id']}/deliveries/{delivery_id}/retry")
        assert answer.status == 404
        assert answer.body["code"] == "ResourceNotFound"

    async def test_bad_delivery_filters_and_recovery_windows(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, HOOK_URL)
        path = f"{system}/webhooks/{hook['id']}"
        bad_status = await client.get(f"{path}/deliveries?status=lost")
        assert bad_status.status == 400
        assert bad_status.body["code"] == "InvalidParameter"
        for body, field in [
            ({}, "since"),
            ({"since": "yesterday"}, "since"),
            ({"since": "2024-01-01T00:00:00"}, None),  # no time zone
            ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, None),
        ]:
            answer = await client.post(f"{path}/recover", json=body)
            assert answer.status == 400, (body, answer.body)
            assert answer.body["code"] == "ValidationError"
            if field is not None:
                assert field in detail_fields(answer.body)


# --- a deleted system -----------------------------------------------------------------------------


async def endpoint_rows(stack: Stack, system_id: int) -> int:
    conn = await asyncpg.connect(stack.isolation.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT (SELECT count(*) FROM webhooks.endpoints WHERE system_id = $1)"
            " + (SELECT count(*) FROM webhooks.deliveries WHERE system_id = $1)",
            system_id,
        )
        return count
    finally:
        await conn.close()


async def test_deleting_a_system_purges_its_endpoints(
    client: Client, stack: Stack, receivers: Receivers
) -> None:
    receiver = await receivers.new()
    system = await make_system(client)
    slug = system.split("/")[-1]
    system_id = await system_id_of(client, system)
    hook = await register(client, system, receiver.url)
    await client.post(f"{system}/webhooks/{hook['id']}/test")
    await receiver.wait_count(1)
    assert await endpoint_rows(stack, system_id) == 2  # the endpoint and its delivery

    assert (await client.delete(system)).status == 200

    async def purged() -> bool:
        return await endpoint_rows(stack, system_id) == 0

    await eventually(purged, "the webhooks service to purge the deleted system", DEADLINE_S)
    await created(client, "/systems", organization_body(slug), "system")
    assert (await client.get(f"{system}/webhooks")).body == {"webhooks": []}
    assert (await client.get(f"{system}/webhooks/{hook['id']}")).status == 404
    # The recreated slug's events reach its own endpoints only: the old one is gone.
    badge = await make_badge(client, system)
    assert await system_id_of(client, system) != system_id
    clock = await receivers.new()
    await register(client, system, clock.url)
    await award(client, badge)
    await clock.wait(lambda seen: any(r.json()["type"] == "badge.awarded" for r in seen), "award")
    assert len(receiver.requests) == 1
