"""What a subscriber receives, checked as a subscriber checks it: Standard Webhooks signatures
verified with the `standardwebhooks` package, the `{type, timestamp, data}` body of every event
type caused by real state changes, event-type filters, BadgeKit's own format for old receivers,
and the `webhook.test` event."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import jwt
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from services.webhooks.config import USER_AGENT
from tests.e2e.test_applications_api import apply
from tests.e2e.test_webhooks_api import (
    DEADLINE_S,
    award,
    deliveries,
    register,
    settled,
    verified,
)
from tests.support.client import Client
from tests.support.factories import created, make_badge, make_system, unique
from tests.support.receivers import Received, Receiver, Receivers, receiving

pytestmark = pytest.mark.e2e


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    async with receiving() as made:
        yield made


def types_of(requests: list[Received]) -> list[str]:
    return [request.json()["type"] for request in requests]


async def until_types(receiver: Receiver, *types: str) -> list[Received]:
    """The receiver's requests, once one of each of `types` arrived."""
    return await receiver.wait(
        lambda seen: set(types) <= set(types_of(seen)), f"events {types}", DEADLINE_S
    )


def one_of_type(receiver: Receiver, event_type: str) -> Received:
    [found] = [r for r in receiver.requests if r.json()["type"] == event_type]
    return found


class TestStandardWebhooks:
    async def test_an_award_arrives_signed_with_badgekits_award_fields(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        badge = await make_badge(client, system)
        hook = await register(client, system, receiver.url)
        recipient = f"{unique('learner')}@example.org"
        instance = await award(client, badge, recipient, comment="Well read")
        [request] = await until_types(receiver, "badge.awarded")

        body = verified(request, hook["secret"])
        assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == USER_AGENT
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.headers["webhook-signature"].startswith("v1,")
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == "badge.awarded"
        assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
        data = body["data"]
        assert data["system"] == system.split("/")[-1]
        assert data["uid"] == instance["slug"]
        assert data["email"] == recipient
        assert data["assertionUrl"] == instance["assertionUrl"]
        assert data["openBadgeCredentialUrl"] == instance["openBadgeCredentialUrl"]
        assert data["comment"] == "Well read"
        assert isinstance(data["issuedOn"], int)
        assert data["badge"]["slug"] == badge.split("/")[-1]
        assert {"uid", "badge", "email", "assertionUrl", "issuedOn", "comment"} <= set(data)

        # The webhook-id is the delivery's id in the log, which shows the successful attempt.
        [delivery] = await settled(client, system, hook["id"], 1, "succeeded")
        assert delivery["id"] == request.webhook_id
        assert delivery["eventType"] == "badge.awarded"
        [attempt] = delivery["attempts"]
        assert attempt["statusCode"] == 200
        assert attempt["error"] is None

    async def test_a_wrong_secret_or_a_changed_body_does_not_verify(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        hook = await register(client, system, receiver.url)
        other = await register(client, system, "https://hooks.example.org/other")
        await client.post(f"{system}/webhooks/{hook['id']}/test")
        [request] = await receiver.wait_count(1)
        with pytest.raises(WebhookVerificationError):
            verified(request, other["secret"])
        tampered = Received(
            request.at,
            request.method,
            request.path,
            request.headers,
            request.body.replace(b"webhook.test", b"badge.awarded"),
            request.status,
        )
        with pytest.raises(WebhookVerificationError):
            verified(tampered, hook["secret"])

    async def test_every_event_type_reaches_an_endpoint_taking_all(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        slug = system.split("/")[-1]
        hook = await register(client, system, receiver.url, events=["*"])
        badge = await make_badge(client, system)
        await client.put(badge, json={"name": "Reading Hero"})
        application = await apply(client, badge)
        review = f"{badge}/applications/{application['slug']}/reviews"
        await created(client, review, {"author": "reviewer@example.org"}, "review")
        await created(client, f"{badge}/codes", {"code": "READ"}, "claimCode")
        claimed = await client.post(f"{badge}/codes/READ/claim", json={"email": "a@example.org"})
        assert claimed.status == 200, claimed.body
        recipient = f"{unique('learner')}@example.org"
        instance = await award(client, badge, recipient)
        assert (await client.delete(f"{badge}/instances/{recipient}")).status == 200
        assert (await client.delete(badge)).status == 200
        await client.post(f"{system}/webhooks/{hook['id']}/test")
        every = (
            "badge.created",
            "badge.updated",
            "application.submitted",
            "application.reviewed",
            "claim_code.claimed",
            "badge.awarded",
            "badge.revoked",
            "badge.deleted",
            "webhook.test",
        )
        await until_types(receiver, *every)
        bodies = {r.json()["type"]: verified(r, hook["secret"]) for r in receiver.requests}
        assert all(body["data"]["system"] == slug for body in bodies.values())
        assert bodies["badge.updated"]["data"]["badge"]["name"] == "Reading Hero"
        assert (
            bodies["application.submitted"]["data"]["application"]["slug"] == (application["slug"])
        )
        reviewed = bodies["application.reviewed"]["data"]
        assert reviewed["application"]["slug"] == application["slug"]
        assert isinstance(reviewed["approved"], bool)
        assert bodies["claim_code.claimed"]["data"]["claimCode"]["code"] == "READ"
        assert bodies["badge.revoked"]["data"]["uid"] == instance["slug"]
        assert bodies["badge.revoked"]["data"]["email"] == recipient
        # One delivery each, each with its own webhook-id.
        assert len({r.webhook_id for r in receiver.requests}) == len(receiver.requests)

    async def test_a_credential_issued_arrives_without_personal_data(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        hook = await register(client, system, receiver.url, events=["credential.issued"])
        badge = await make_badge(
            client, system, credential={"kind": "OCA", "achievementType": "Badge"}
        )
        instance = await award(client, badge, holderOcId="ada.edu", name="Ada Reader")
        [request] = await until_types(receiver, "credential.issued")
        body = verified(request, hook["secret"])
        credential = body["data"]["credential"]
        assert credential["id"] == instance["credential"]["id"]
        assert credential["status"] == "issued"
        assert credential["kind"] == "OCA"
        assert credential["holderOcId"] == "ada.edu"
        assert credential["vcId"]
        assert credential["awardUid"]
        assert "Ada Reader" not in request.body.decode()
        assert "@example.org" not in request.body.decode()
        assert types_of(receiver.requests) == ["credential.issued"]


class TestFilters:
    async def test_an_endpoint_gets_only_the_types_it_asked_for(
        self, client: Client, receivers: Receivers
    ) -> None:
        some, every = await receivers.new(), await receivers.new()
        system = await make_system(client)
        await register(client, system, some.url, events=["badge.revoked", "webhook.test"])
        await register(client, system, every.url)
        badge = await make_badge(client, system)
        recipient = f"{unique('learner')}@example.org"
        await award(client, badge, recipient)
        await client.delete(f"{badge}/instances/{recipient}")
        await until_types(some, "badge.revoked")
        await until_types(every, "badge.created", "badge.awarded", "badge.revoked")
        assert types_of(some.requests) == ["badge.revoked"]

    async def test_a_changed_filter_applies_to_later_events(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver, clock = await receivers.new(), await receivers.new()
        system = await make_system(client)
        hook = await register(client, system, receiver.url, events=["badge.created"])
        await register(client, system, clock.url)
        await make_badge(client, system)
        await until_types(receiver, "badge.created")
        changed = await client.put(
            f"{system}/webhooks/{hook['id']}", json={"events": ["badge.awarded"]}
        )
        assert changed.status == 200
        badge = await make_badge(client, system)
        await award(client, badge)
        await until_types(receiver, "badge.awarded")
        await clock.wait(lambda seen: types_of(seen).count("badge.created") == 2, "2 badges")
        assert types_of(receiver.requests) == ["badge.created", "badge.awarded"]

    async def test_events_of_other_systems_are_not_delivered(
        self, client: Client, receivers: Receivers
    ) -> None:
        mine, theirs = await receivers.new(), await receivers.new()
        system, other = await make_system(client), await make_system(client)
        await register(client, system, mine.url)
        await register(client, other, theirs.url)
        await make_badge(client, other)
        await make_badge(client, system)
        await until_types(mine, "badge.created")
        await until_types(theirs, "badge.created")
        assert len(mine.requests) == len(theirs.requests) == 1
        assert mine.requests[0].json()["data"]["system"] == system.split("/")[-1]


class TestTestEvent:
    async def test_a_test_event_reaches_the_endpoint_alone(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver, bystander = await receivers.new(), await receivers.new()
        system = await make_system(client)
        hook = await register(client, system, receiver.url, events=["badge.awarded"])
        await register(client, system, bystander.url)
        answer = await client.post(f"{system}/webhooks/{hook['id']}/test")
        assert answer.status == 202, answer.body
        assert answer.body["status"] == "accepted"
        [delivery_id] = answer.body["deliveries"]
        [request] = await receiver.wait_count(1)
        assert request.webhook_id == delivery_id
        body = verified(request, hook["secret"])
        assert body["type"] == "webhook.test"
        assert body["data"] == {"system": system.split("/")[-1], "endpoint": hook["id"]}
        [logged] = await settled(client, system, hook["id"], 1, "succeeded")
        assert logged["id"] == delivery_id
        assert logged["eventType"] == "webhook.test"
        assert bystander.requests == []


# --- BadgeKit's format --------------------------------------------------------------------------


def badgekit_verified(request: Received, secret: str) -> dict[str, Any]:
    """The body, checked as a BadgeKit receiver checks it: the JWT in `Authorization` is HS256
    with the shared secret, and its `body.hash` is the body's sha256."""
    header = request.headers["authorization"]
    prefix = 'JWT token="'
    assert header.startswith(prefix)
    assert header.endswith('"')
    claims = jwt.decode(header[len(prefix) : -1], secret, algorithms=["HS256"])
    assert claims["body"] == {"alg": "sha256", "hash": hashlib.sha256(request.body).hexdigest()}
    found: dict[str, Any] = request.json()
    return found


class TestBadgeKitFormat:
    async def test_awards_revocations_and_reviews_in_badgekits_own_shape(
        self, client: Client, receivers: Receivers
    ) -> None:
        receiver = await receivers.new()
        system = await make_system(client)
        hook = await register(client, system, receiver.url, format="badgekit")
        assert hook["format"] == "badgekit"
        badge = await make_badge(client, system)  # badge.created: not a BadgeKit webhook
        recipient = f"{unique('learner')}@example.org"
        instance = await award(client, badge, recipient, comment="Bravo")
        await client.delete(f"{badge}/instances/{recipient}")
        application = await apply(client, badge)
        review = await created(
            client,
            f"{badge}/applications/{application['slug']}/reviews",
            {"author": "reviewer@example.org", "comment": "Fine"},
            "review",
        )
        found = await receiver.wait(
            lambda seen: {r.json()["action"] for r in seen} >= {"award", "revoke", "review"},
            "an award, a revocation and a review",
            DEADLINE_S,
        )
        actions = {r.json()["action"]: badgekit_verified(r, hook["secret"]) for r in found}

        awarded = actions["award"]
        assert set(awarded) == {
            "action",
            "uid",
            "badge",
            "email",
            "assertionUrl",
            "issuedOn",
            "comment",
        }
        assert awarded["uid"] == instance["slug"]
        assert awarded["email"] == recipient
        assert awarded["assertionUrl"] == instance["assertionUrl"]
        assert awarded["comment"] == "Bravo"
        assert isinstance(awarded["issuedOn"], int)
        assert awarded["badge"]["slug"] == badge.split("/")[-1]
        assert actions["revoke"] == {
            "action": "revoke",
            "uid": instance["slug"],
            "badge": actions["revoke"]["badge"],
            "email": recipient,
        }
        reviewed = actions["review"]
        assert set(reviewed) == {"action", "application", "review", "approved"}
        assert reviewed["review"]["slug"] == review["slug"]
        assert reviewed["application"]["slug"] == application["slug"]
        # Only BadgeKit's three actions: no badge.created, no application.submitted.
        assert len(receiver.requests) == 3
        assert "webhook-signature" not in receiver.requests[0].headers
        # A wrong secret does not verify.
        with pytest.raises(jwt.InvalidSignatureError):
            badgekit_verified(receiver.requests[0], hook["secret"] + "x")

    async def test_badgekit_endpoints_have_no_test_event(self, client: Client) -> None:
        system = await make_system(client)
        hook = await register(client, system, "https://hooks.example.org/bk", format="badgekit")
        answer = await client.post(f"{system}/webhooks/{hook['id']}/test")
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert await deliveries(client, system, hook["id"]) == []


async def test_one_event_is_one_delivery_per_matching_endpoint(
    client: Client, receivers: Receivers
) -> None:
    server = await receivers.server()
    first, second = server.receiver("/first"), server.receiver("/second")
    system = await make_system(client)
    hooks = [
        await register(client, system, r.url, events=["badge.created"]) for r in (first, second)
    ]
    await make_badge(client, system)
    for receiver, hook in zip((first, second), hooks, strict=True):
        [request] = await receiver.wait_count(1)
        verified(request, hook["secret"])
        [delivery] = await settled(client, system, hook["id"], 1, "succeeded")
        assert delivery["id"] == request.webhook_id
    # The same event (one timestamp), under a webhook-id of its own at each endpoint.
    assert first.requests[0].webhook_id != second.requests[0].webhook_id
    assert first.requests[0].json() == second.requests[0].json()
