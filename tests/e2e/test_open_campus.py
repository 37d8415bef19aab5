"""Open Campus issuance end to end: the gateway, the issuer service and the sandbox standing in
for Open Campus, under every fault the sandbox can inject and a SIGKILL of the issuer."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.support.client import Client
from tests.support.events import eventually, system_id_of, tap_events
from tests.support.factories import make_badge, make_system, oc_body, unique
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# Retries within a test's patience: the production schedule is minutes to hours apart.
FAST = {
    "OPEN_CAMPUS_RETRY_SCHEDULE": "100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms",
    "OPEN_CAMPUS_TIMEOUT_S": "1",
}


async def credential_status(client: Client, system: str, credential_id: str, status: str) -> Any:
    last: list[Any] = [None]

    async def reached() -> Any:
        answer = await client.get(f"{system}/credentials/{credential_id}")
        last[0] = credential = answer.body["credential"]
        return credential if credential["status"] == status else None

    try:
        return await eventually(reached, f"credential {credential_id} to be {status}", timeout_s=30)
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {last[0]}") from None


class TestDirectIssuance:
    async def test_accepted_then_issued_with_the_open_campus_id(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        reference = unique("ref")
        answer = await client.post(f"{system}/credentials", json=oc_body(reference))
        assert answer.status == 202
        assert answer.body["status"] == "accepted"
        credential = answer.body["credential"]
        assert credential["issuerReferenceId"] == reference
        assert credential["status"] == "pending"
        assert answer.headers["Location"].endswith(f"{system}/credentials/{credential['id']}")
        issued = await credential_status(client, system, credential["id"], "issued")
        [recorded] = stack.sandbox.credentials(reference)
        assert issued["vcId"] == recorded["vcId"]
        assert issued["kind"] == "OCA"
        assert issued["holderOcId"] == "ada.edu"
        assert issued["attempts"][0]["statusCode"] == 200
        assert "ada@example.org" not in str(issued)
        assert "Ada Reader" not in str(issued)

    async def test_the_same_reference_answers_the_same_credential_or_409(
        self, client: Client
    ) -> None:
        system, reference = await make_system(client), unique("ref")
        first = await client.post(f"{system}/credentials", json=oc_body(reference))
        again = await client.post(f"{system}/credentials", json=oc_body(reference))
        assert again.status == 200
        assert again.body["credential"]["id"] == first.body["credential"]["id"]
        other = oc_body(reference)
        other["holderOcId"] = "bob.edu"
        conflict = await client.post(f"{system}/credentials", json=other)
        assert conflict.status == 409
        assert conflict.body["code"] == "ResourceConflict"

    async def test_without_a_reference_one_is_derived(self, client: Client, stack: Stack) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/credentials", json=oc_body())
        credential = answer.body["credential"]
        assert credential["issuerReferenceId"] == f"plaudit:{credential['id']}"
        await credential_status(client, system, credential["id"], "issued")
        assert len(stack.sandbox.credentials(credential["issuerReferenceId"])) == 1

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda b: b["credentialPayload"].pop("validFrom"), "credentialPayload.validFrom"),
            (
                lambda b: b["credentialPayload"].update(awardedDate="31/01/2024"),
                "credentialPayload.awardedDate",
            ),
            (
                lambda b: b["credentialPayload"]["credentialSubject"]["achievement"].update(
                    identifier="x" * 51
                ),
                "credentialPayload.credentialSubject.achievement.identifier",
            ),
            (
                lambda b: b["credentialPayload"]["credentialSubject"]["achievement"].update(
                    achievementType="Trophy"
                ),
                "credentialPayload.credentialSubject.achievement.achievementType",
            ),
            (lambda b: b.update(holderAddress="0x" + "1" * 40), "holderOcId"),
            (lambda b: b.pop("holderOcId"), "holderOcId"),
            (
                lambda b: b["credentialPayload"]["credentialSubject"].pop("email"),
                "credentialPayload.credentialSubject.email",
            ),
            (
                lambda b: b["credentialPayload"].update(image="ftp://x.org/a.png"),
                "credentialPayload.image",
            ),
            (lambda b: b.update(holderOcId="Not An OCID"), "holderOcId"),
            (lambda b: b.update(surprise=1), "surprise"),
        ],
    )
    async def test_what_open_campus_would_refuse_never_leaves_plaudit(
        self, client: Client, stack: Stack, change: Callable[[dict[str, Any]], Any], field: str
    ) -> None:
        system = await make_system(client)
        body = copy.deepcopy(oc_body(unique("ref")))
        change(body)
        before = stack.sandbox.stats()
        answer = await client.post(f"{system}/credentials", json=body)
        assert answer.status == 400
        assert answer.body["code"] == "ValidationError"
        assert field in {detail["field"] for detail in answer.body["details"]}
        assert stack.sandbox.stats() == before

    async def test_list_filter_and_retry(self, client: Client, stack: Stack) -> None:
        # Refused for a key Open Campus does not know (a refusal of this system's credential
        # alone: the sandbox is shared with the other tests), then retried once it does.
        system, key = await make_system(client), unique("late-key")
        await client.put(f"{system}/open-campus", json={"apiKey": key})
        answer = await client.post(f"{system}/credentials", json=oc_body(unique("ref")))
        credential_id = answer.body["credential"]["id"]
        failed = await credential_status(client, system, credential_id, "failed")
        assert failed["error"]["statusCode"] == 401
        assert len(failed["attempts"]) == 1
        listed = await client.get(f"{system}/credentials?status=failed")
        assert [c["id"] for c in listed.body["credentials"]] == [credential_id]
        assert (await client.get(f"{system}/credentials?status=issued")).body["credentials"] == []
        stack.sandbox.add_key(key)
        retried = await client.post(f"{system}/credentials/{credential_id}/retry", json={})
        assert retried.status == 202
        issued = await credential_status(client, system, credential_id, "issued")
        assert [a["outcome"] for a in issued["attempts"]] == ["refused", "issued"]
        again = await client.post(f"{system}/credentials/{credential_id}/retry", json={})
        assert again.status == 409

    async def test_unknown_credential(self, client: Client) -> None:
        system = await make_system(client)
        assert (await client.get(f"{system}/credentials/not-a-uuid")).status == 404
        missing = "00000000-0000-4000-8000-000000000000"
        assert (await client.get(f"{system}/credentials/{missing}")).status == 404


class TestOpenCampusKeys:
    async def test_a_system_key_is_stored_shown_by_its_last_4_and_used(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        assert (await client.get(f"{system}/open-campus")).body == {
            "openCampus": {"configured": False, "apiKeyLast4": None}
        }
        key = unique("system-key")
        stack.sandbox.add_key(key)
        put = await client.put(f"{system}/open-campus", json={"apiKey": key})
        assert put.body == {
            "status": "updated",
            "openCampus": {"configured": True, "apiKeyLast4": key[-4:]},
        }
        assert key not in str((await client.get(f"{system}/open-campus")).body)
        reference = unique("ref")
        answer = await client.post(f"{system}/credentials", json=oc_body(reference))
        await credential_status(client, system, answer.body["credential"]["id"], "issued")
        assert stack.sandbox.credentials(reference)[0]["apiKeyLast4"] == key[-4:]
        for service in ("gateway", "issuer", "badges"):
            assert key not in stack.log_text(service)

    async def test_an_unknown_key_fails_the_credential_at_once(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        await client.put(f"{system}/open-campus", json={"apiKey": "not-known-to-open-campus"})
        answer = await client.post(f"{system}/credentials", json=oc_body(unique("ref")))
        failed = await credential_status(client, system, answer.body["credential"]["id"], "failed")
        assert failed["error"]["statusCode"] == 401


async def award_with_credential(client: Client, badge: str, recipient: str) -> dict[str, Any]:
    answer = await client.post(
        f"{badge}/instances",
        json={"email": recipient, "holderOcId": "ada.edu", "name": "Ada Reader"},
    )
    assert answer.status == 201, answer.body
    instance: dict[str, Any] = answer.body["instance"]
    return instance


def awaiting_issuer(stack: Stack) -> list[dict[str, Any]]:
    return [
        e
        for e in stack.log_events("gateway")
        if e["event"] == "awaiting_arrival" and e["message"] == "issuer.get_credential"
    ]


class TestAwards:
    async def test_an_oca_award_ends_as_one_issued_credential(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        badge = await make_badge(
            client, system, credential={"kind": "OCA", "achievementType": "Badge"}
        )
        recipient = f"{unique('r')}@example.org"
        instance = await award_with_credential(client, badge, recipient)
        credential_id = instance["credential"]["id"]
        assert instance["credential"]["status"] == "pending"
        issued = await credential_status(client, system, credential_id, "issued")
        reference = issued["issuerReferenceId"]
        assert reference == f"plaudit:{issued['awardUid']}"
        [recorded] = stack.sandbox.credentials(reference)

        async def shown_on_the_award() -> Any:
            found = (await client.get(f"{badge}/instances/{recipient}")).body["instance"]
            return found if found["credential"]["status"] == "issued" else None

        award = await eventually(shown_on_the_award, "the award to show its credential issued")
        assert award["credential"]["vcId"] == recorded["vcId"]

    async def test_an_awarded_credential_is_found_while_still_on_its_way_to_the_issuer(
        self, client: Client, stack: Stack
    ) -> None:
        """The 201 names the credential before the issuer has it: a look-up then waits for it
        (503 with Retry-After if it takes too long), never a 404."""
        system = await make_system(client)
        badge = await make_badge(
            client, system, credential={"kind": "OCA", "achievementType": "Badge"}
        )
        conn = await asyncpg.connect(stack.isolation.database_url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            # Reads go on; the issuer's insert of the credential waits for the lock.
            await conn.execute("LOCK TABLE issuer.credentials IN SHARE MODE")
            instance = await award_with_credential(client, badge, f"{unique('r')}@example.org")
            path = f"{system}/credentials/{instance['credential']['id']}"
            answer = await client.get(path)
            assert answer.status == 503, answer.body
            assert answer.body["code"] == "ServiceUnavailable"
            assert answer.headers["Retry-After"] == "1"

            waiting = len(awaiting_issuer(stack))
            looking = asyncio.create_task(client.get(path))

            async def gateway_waits() -> bool:
                return len(awaiting_issuer(stack)) > waiting

            await eventually(gateway_waits, "the gateway to wait for the issuer", 10)
            await transaction.rollback()
            answer = await looking
        finally:
            await conn.close()
        assert answer.status == 200, answer.body
        assert answer.body["credential"]["id"] == instance["credential"]["id"]
        assert (await client.get(f"{system}/credentials/{uuid.uuid4()}")).status == 404

    async def test_subscribers_can_match_the_award_and_its_credential(
        self, client: Client, stack: Stack
    ) -> None:
        system = await make_system(client)
        system_id = await system_id_of(client, system)
        badge = await make_badge(
            client, system, credential={"kind": "OCA", "achievementType": "Badge"}
        )
        async with tap_events(stack, "badge.awarded", "credential.*") as events:
            instance = await award_with_credential(client, badge, f"{unique('m')}@example.org")
            [awarded] = await events.wait("badge.awarded", system_id)
            [issued] = await events.wait("credential.issued", system_id)
        assert awarded["uid"] == instance["slug"]
        assert awarded["credential"] == {"id": instance["credential"]["id"], "status": "pending"}
        assert issued["credential"]["id"] == instance["credential"]["id"]


def ids_of(sandbox_credentials: list[dict[str, Any]]) -> list[str]:
    return [credential["issuerReferenceId"] for credential in sandbox_credentials]


async def test_every_fault_still_ends_in_exactly_one_credential_per_award(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(**FAST)
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    stack.sandbox.set_faults(
        sequence=["error", "rate_limit", "ambiguous_500", "ambiguous_drop", "slow"],
        rates={
            "error": 0.15,
            "rate_limit": 0.1,
            "ambiguous_500": 0.1,
            "ambiguous_drop": 0.1,
            "slow": 0.05,
        },
        slow_s=2,
        retry_after_s=1,
        seed=11,
    )
    system = await make_system(client)
    badge = await make_badge(client, system, credential={"kind": "OCA", "achievementType": "Badge"})
    instances = [await award_with_credential(client, badge, f"r{n}@example.org") for n in range(12)]
    credentials = [
        await credential_status(client, system, i["credential"]["id"], "issued") for i in instances
    ]
    references = sorted(c["issuerReferenceId"] for c in credentials)
    recorded = stack.sandbox.credentials()
    assert sorted(ids_of(recorded)) == references  # one each, none under another id
    assert stack.sandbox.stats()["validationFailed"] == 0
    outcomes = {a["outcome"] for c in credentials for a in c["attempts"]}
    assert {"retry", "duplicate"} <= outcomes


async def test_sigkill_of_the_issuer_mid_flight_issues_each_award_exactly_once(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> None:
    stack = own_stack(**FAST)
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    stack.sandbox.set_faults(
        rates={"ambiguous_500": 0.2, "ambiguous_drop": 0.1}, latency_ms=300, seed=3
    )
    system = await make_system(client)
    badge = await make_badge(client, system, credential={"kind": "OCA", "achievementType": "Badge"})
    instances = [await award_with_credential(client, badge, f"k{n}@example.org") for n in range(30)]
    await eventually(
        lambda: asyncio.sleep(0, result=len(stack.sandbox.credentials()) >= 5),
        "some credentials to reach the sandbox",
    )
    stack.kill("issuer")  # calls are in flight: latency 300 ms, 8 at a time
    stack.start("issuer")
    credentials = [
        await credential_status(client, system, i["credential"]["id"], "issued") for i in instances
    ]
    recorded = ids_of(stack.sandbox.credentials())
    assert len(recorded) == len(set(recorded)) == 30
    assert sorted(recorded) == sorted(c["issuerReferenceId"] for c in credentials)
    assert all(c["issuerReferenceId"] == f"plaudit:{c['awardUid']}" for c in credentials)
