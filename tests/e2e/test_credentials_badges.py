"""Open Campus credentials on the badges side, through the real gateway, RabbitMQ, badges service
and Postgres: the badge field `credential` (validated when written, its Open Campus identifier
unique within a system), the award fields `holderOcId` / `holderAddress` / `name` (validated
against the badge), the `issuer.issue_credential` command an award sends through the outbox
(its body exactly what Open Campus receives), the issuer's outcomes (`credential.issued`,
`credential.failed`) kept on the award, and revocation cancelling a credential not issued.

Tests that publish the issuer's outcomes themselves run on a stack without the issuer, so that
no real outcome races theirs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiohttp
import orjson
import pytest

from shared.envelope import Envelope
from shared.messages.base import Message
from shared.messages.credentials import CredentialFailed, CredentialIssued
from shared.opencampus import ACHIEVEMENT_TYPES, validate_issue_request
from shared.topology import EVENTS_EXCHANGE
from tests.e2e.test_instances_api import award, email, in_days
from tests.e2e.test_public_documents import public_path
from tests.support.client import Client
from tests.support.events import EventTap, eventually, inbox_types, system_id_of, tap_events
from tests.support.factories import badge_body, created, make_badge, make_system, unique
from tests.support.infra import Isolation, Servers
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

OCA = {"kind": "OCA", "achievementType": "Badge"}
OCB = {"kind": "OCB", "achievementType": "Achievement"}
OCID = "ada.edu"
ADDRESS = "0x" + "ab12" * 10
NAME = "Ada Lovelace"


def slug_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def fields_of(answer: Any) -> dict[str, str]:
    """A 400's details by field: `{field: message}`."""
    assert answer.status == 400, f"{answer.status} {answer.body}"
    assert answer.body["code"] == "ValidationError"
    return {detail["field"]: detail["message"] for detail in answer.body["details"]}


async def credential_badge(
    client: Client, context: str | None = None, credential: Any = None, **extra: Any
) -> str:
    """A new badge whose awards issue `credential` (an OCA by default); its path."""
    return await make_badge(client, context, credential=credential or OCA, **extra)


@pytest.fixture
async def commands(stack: Stack) -> AsyncIterator[EventTap]:
    async with tap_events(stack, "issuer.*") as tap:
        yield tap


# --- the badge field ----------------------------------------------------------------------------


class TestBadgeCredential:
    async def test_an_oca_is_shown_in_every_badge_response(self, client: Client) -> None:
        system = await make_system(client)
        body = badge_body(credential=OCA)
        answer = await client.post(f"{system}/badges", json=body)
        assert answer.status == 201, answer.body
        assert answer.body["badge"]["credential"] == OCA
        path = f"{system}/badges/{body['slug']}"
        assert (await client.get(path)).body["badge"]["credential"] == OCA
        (listed,) = (await client.get(f"{system}/badges")).body["badges"]
        assert listed["credential"] == OCA

    async def test_an_ocb_gets_the_default_collection_symbol(self, client: Client) -> None:
        badge = await credential_badge(client, credential=OCB)
        shown = (await client.get(badge)).body["badge"]["credential"]
        assert shown == {**OCB, "collectionSymbol": "ocbadge"}

    async def test_an_ocb_keeps_its_collection_symbol(self, client: Client) -> None:
        badge = await credential_badge(client, credential={**OCB, "collectionSymbol": "season3"})
        shown = (await client.get(badge)).body["badge"]["credential"]
        assert shown["collectionSymbol"] == "season3"

    async def test_a_badge_without_one_shows_null(self, client: Client) -> None:
        badge = await make_badge(client)
        assert (await client.get(badge)).body["badge"]["credential"] is None

    async def test_put_sets_keeps_and_removes_it(self, client: Client) -> None:
        badge = await make_badge(client)
        answer = await client.put(badge, json={"credential": OCB})
        assert answer.status == 200, answer.body
        assert answer.body["badge"]["credential"] == {**OCB, "collectionSymbol": "ocbadge"}
        answer = await client.put(badge, json={"name": "Renamed"})
        assert answer.body["badge"]["credential"] == {**OCB, "collectionSymbol": "ocbadge"}
        answer = await client.put(badge, json={"credential": OCA})
        assert answer.body["badge"]["credential"] == OCA
        answer = await client.put(badge, json={"credential": None})
        assert answer.status == 200, answer.body
        assert answer.body["badge"]["credential"] is None
        assert (await client.get(badge)).body["badge"]["credential"] is None

    async def test_form_bodies_nest_it(self, client: Client) -> None:
        system = await make_system(client)
        form = {
            key: str(value).lower() if isinstance(value, bool) else value
            for key, value in badge_body().items()
        }
        form.update({"credential[kind]": "OCA", "credential[achievementType]": "Certificate"})
        answer = await client.post(f"{system}/badges", form=form)
        assert answer.status == 201, answer.body
        assert answer.body["badge"]["credential"] == {
            "kind": "OCA",
            "achievementType": "Certificate",
        }
        path = f"{system}/badges/{form['slug']}"
        answer = await client.put(path, form={"credential": ""})
        assert answer.status == 200, answer.body
        assert answer.body["badge"]["credential"] is None

    async def test_every_achievement_type_is_accepted(self, client: Client) -> None:
        system = await make_system(client)
        for achievement_type in ACHIEVEMENT_TYPES[::6]:
            credential = {"kind": "OCA", "achievementType": achievement_type}
            badge = await created(
                client, f"{system}/badges", badge_body(credential=credential), "badge"
            )
            assert badge["credential"] == credential

    @pytest.mark.parametrize(
        ("credential", "field"),
        [
            ({"kind": "OCC", "achievementType": "Badge"}, "credential.kind"),
            ({"achievementType": "Badge"}, "credential.kind"),
            ({"kind": "OCA"}, "credential.achievementType"),
            ({"kind": "OCA", "achievementType": "Trophy"}, "credential.achievementType"),
            ({"kind": "OCA", "achievementType": "Badge", "collectionSymbol": "x"}, "credential"),
            ({**OCB, "collectionSymbol": "x" * 65}, "credential.collectionSymbol"),
            ("OCA", "credential"),
        ],
        ids=[
            "unknown kind",
            "no kind",
            "no achievement type",
            "unknown achievement type",
            "collection symbol on an oca",
            "collection symbol too long",
            "not an object",
        ],
    )
    async def test_invalid_credentials_are_refused_on_create_and_put(
        self, client: Client, credential: Any, field: str
    ) -> None:
        system = await make_system(client)
        answer = await client.post(f"{system}/badges", json=badge_body(credential=credential))
        assert field in fields_of(answer)
        badge = await make_badge(client, system)
        answer = await client.put(badge, json={"credential": credential})
        assert field in fields_of(answer)
        assert (await client.get(badge)).body["badge"]["credential"] is None


class TestOpenCampusIdentifier:
    """A badge's Open Campus identifier is its slug cut to 50 characters, unique among the
    credential badges of a system."""

    async def test_two_credential_badges_of_a_system_cannot_share_it(self, client: Client) -> None:
        system = await make_system(client)
        stem = unique("long").ljust(50, "x")
        await credential_badge(client, system, slug=f"{stem}-first")
        answer = await client.post(
            f"{system}/badges", json=badge_body(slug=f"{stem}-second", credential=OCB)
        )
        fields = fields_of(answer)
        assert set(fields) == {"slug"}
        assert stem in fields["slug"]
        assert "50" in fields["slug"]
        # Without a credential the slug is fine; giving it one is refused, on `credential`.
        other = await make_badge(client, system, slug=f"{stem}-second")
        answer = await client.put(other, json={"credential": OCA})
        assert set(fields_of(answer)) == {"credential"}
        assert (await client.get(other)).body["badge"]["credential"] is None

    async def test_slugs_differing_within_50_characters_are_fine(self, client: Client) -> None:
        system = await make_system(client)
        stem = unique("long").ljust(49, "x")
        await credential_badge(client, system, slug=f"{stem}a-same-tail")
        await credential_badge(client, system, slug=f"{stem}b-same-tail")

    async def test_other_systems_may_use_it(self, client: Client) -> None:
        slug = unique("shared").ljust(60, "y")
        await credential_badge(client, await make_system(client), slug=slug)
        await credential_badge(client, await make_system(client), slug=slug)

    async def test_removing_the_credential_frees_it(self, client: Client) -> None:
        system = await make_system(client)
        stem = unique("long").ljust(50, "z")
        first = await credential_badge(client, system, slug=f"{stem}-1")
        assert (await client.put(first, json={"credential": None})).status == 200
        await credential_badge(client, system, slug=f"{stem}-2")

    async def test_a_badge_keeps_it_when_updated(self, client: Client) -> None:
        badge = await credential_badge(client)
        answer = await client.put(badge, json={"credential": OCB, "name": "Other name"})
        assert answer.status == 200, answer.body


# --- the award fields ---------------------------------------------------------------------------


class TestAwardFields:
    @pytest.mark.parametrize(
        ("credential", "fields", "problem"),
        [
            (None, {"holderOcId": OCID, "name": NAME}, "holderOcId"),
            (None, {"holderAddress": ADDRESS}, "holderAddress"),
            (OCA, {"holderAddress": ADDRESS, "name": NAME}, "holderAddress"),
            (OCA, {"holderOcId": OCID}, "name"),
            (OCA, {"holderOcId": OCID, "name": "  "}, "name"),
            (OCB, {"holderOcId": OCID, "holderAddress": ADDRESS}, "holderAddress"),
            (OCB, {"holderOcId": "Ada Lovelace"}, "holderOcId"),
            (OCB, {"holderOcId": "ada.com"}, "holderOcId"),
            (OCB, {"holderAddress": "0x1234"}, "holderAddress"),
            (OCA, {"holderOcId": OCID, "name": "n" * 256}, "name"),
        ],
        ids=[
            "ocid without a credential",
            "address without a credential",
            "address for an oca",
            "oca without a name",
            "oca with a blank name",
            "both holders",
            "ocid not an ocid",
            "ocid not .edu",
            "address too short",
            "name too long",
        ],
    )
    async def test_invalid_award_fields_are_refused_with_details(
        self,
        client: Client,
        credential: dict[str, str] | None,
        fields: dict[str, str],
        problem: str,
    ) -> None:
        badge = await make_badge(client, credential=credential)
        answer = await client.post(f"{badge}/instances", json={"email": email(), **fields})
        assert set(fields_of(answer)) == {problem}
        assert (await client.get(f"{badge}/instances")).body["instances"] == []

    async def test_an_award_without_a_holder_is_a_plain_award(
        self, client: Client, commands: EventTap
    ) -> None:
        badge = await credential_badge(client)
        system_id = await system_id_of(client, badge)
        plain = await award(client, badge, email(), name=NAME)
        assert "credential" not in plain
        bulk = await client.post(f"{badge}/instances/bulk", json={"emails": [email(), email()]})
        assert bulk.status == 201, bulk.body
        assert all("credential" not in instance for instance in bulk.body["instances"])
        issued = await award(client, badge, email(), holderOcId=OCID, name=NAME)
        (command,) = await commands.wait("issuer.issue_credential", system_id)
        assert command["credentialId"] == issued["credential"]["id"]
        listed = (await client.get(f"{badge}/instances")).body["instances"]
        assert [("credential" in instance) for instance in listed] == [False] * 3 + [True]

    async def test_form_bodies_carry_the_holder(self, client: Client) -> None:
        badge = await credential_badge(client)
        answer = await client.post(
            f"{badge}/instances",
            form={"email": email(), "holderOcId": OCID, "name": NAME, "holderAddress": ""},
        )
        assert answer.status == 201, answer.body
        assert answer.body["instance"]["credential"]["status"] == "pending"

    async def test_a_refused_credential_award_leaves_no_award(self, client: Client) -> None:
        badge = await credential_badge(client)
        recipient = email()
        answer = await client.post(
            f"{badge}/instances", json={"email": recipient, "holderOcId": OCID}
        )
        assert answer.status == 400
        assert (await client.get(f"{badge}/instances/{recipient}")).status == 404


# --- the award that starts a credential ---------------------------------------------------------


class TestCredentialAward:
    async def test_an_oca_award_answers_pending_and_sends_the_open_campus_body(
        self, client: Client, commands: EventTap
    ) -> None:
        badge = await credential_badge(
            client, credential={"kind": "OCA", "achievementType": "Course"}
        )
        system_id = await system_id_of(client, badge)
        recipient = email()
        expires = in_days(365).replace(microsecond=0)
        answer = await client.post(
            f"{badge}/instances",
            json={
                "email": recipient,
                "holderOcId": OCID,
                "name": NAME,
                "issuedOn": "2024-05-01T12:00:00Z",
                "expires": expires.isoformat(),
            },
        )
        assert answer.status == 201, answer.body
        instance = answer.body["instance"]
        credential = instance["credential"]
        assert credential == {"id": credential["id"], "status": "pending"}
        uuid.UUID(credential["id"])
        assert NAME not in str(answer.body)
        assert OCID not in str(answer.body)

        (command,) = await commands.wait("issuer.issue_credential", system_id)
        assert command["credentialId"] == credential["id"]
        assert command["system"] == badge.split("/")[2]
        body = command["body"]
        validate_issue_request(body)
        assert body["issuerReferenceId"] == f"plaudit:{command['awardUid']}"
        assert body["holderOcId"] == OCID
        assert "holderAddress" not in body
        assert "collectionSymbol" not in body
        shown = (await client.get(badge)).body["badge"]
        assert body["credentialPayload"] == {
            "validFrom": "2024-05-01T12:00:00.000Z",
            "awardedDate": "2024-05-01T12:00:00.000Z",
            "validUntil": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "description": shown["consumerDescription"],
            "image": shown["imageUrl"],
            "credentialSubject": {
                "type": "Person",
                "name": NAME,
                "email": recipient,
                "image": shown["imageUrl"],
                "achievement": {
                    "identifier": shown["slug"],
                    "name": shown["name"],
                    "description": shown["earnerDescription"],
                    "achievementType": "Course",
                },
            },
        }

    async def test_an_ocb_award_to_an_address_carries_no_name_or_email(
        self, client: Client, commands: EventTap
    ) -> None:
        slug = unique("ocb").ljust(64, "q")
        badge = await credential_badge(
            client, credential={**OCB, "collectionSymbol": "season3"}, slug=slug
        )
        system_id = await system_id_of(client, badge)
        recipient = email()
        instance = await award(client, badge, recipient, holderAddress=ADDRESS, name=NAME)
        assert instance["credential"]["status"] == "pending"
        (command,) = await commands.wait("issuer.issue_credential", system_id)
        body = command["body"]
        validate_issue_request(body)
        assert body["holderAddress"] == ADDRESS
        assert "holderOcId" not in body
        assert body["collectionSymbol"] == "season3"
        subject = body["credentialPayload"]["credentialSubject"]
        assert "name" not in subject
        assert "email" not in subject
        assert NAME not in orjson.dumps(command).decode()
        assert recipient not in orjson.dumps(command).decode()
        assert subject["achievement"]["identifier"] == slug[:50]
        assert "validUntil" not in body["credentialPayload"]
        # Without issuedOn the award's own date is the credential's, to the millisecond.
        issued = datetime.fromisoformat(instance["issuedOn"])
        assert issued.microsecond % 1000 == 0
        stamp = issued.astimezone(UTC).isoformat(timespec="milliseconds")
        assert body["credentialPayload"]["validFrom"] == stamp.replace("+00:00", "Z")

    async def test_an_ocb_award_to_an_ocid(self, client: Client, commands: EventTap) -> None:
        badge = await credential_badge(client, credential=OCB)
        system_id = await system_id_of(client, badge)
        await award(client, badge, email(), holderOcId=OCID)
        (command,) = await commands.wait("issuer.issue_credential", system_id)
        assert command["body"]["holderOcId"] == OCID
        assert command["body"]["collectionSymbol"] == "ocbadge"

    async def test_each_award_has_its_own_credential_and_reference(
        self, client: Client, commands: EventTap
    ) -> None:
        badge = await credential_badge(client)
        system_id = await system_id_of(client, badge)
        first = await award(client, badge, email(), holderOcId=OCID, name=NAME)
        second = await award(client, badge, email(), holderOcId=OCID, name=NAME)
        found = await commands.wait("issuer.issue_credential", system_id, count=2)
        assert {c["credentialId"] for c in found} == {
            first["credential"]["id"],
            second["credential"]["id"],
        }
        assert len({c["body"]["issuerReferenceId"] for c in found}) == 2

    async def test_every_instance_response_shows_the_credential(self, client: Client) -> None:
        badge = await credential_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient, holderOcId=OCID, name=NAME)
        shown = instance["credential"]
        system = "/".join(badge.split("/")[:3])
        (one,) = (await client.get(f"{badge}/instances")).body["instances"]
        by_email = (await client.get(f"{badge}/instances/{recipient}")).body["instance"]
        (in_system,) = (await client.get(f"{system}/instances/{recipient}")).body["instances"]
        for found in (one, by_email, in_system):
            assert found["credential"]["id"] == shown["id"]
            assert found["credential"]["status"] in ("pending", "issued", "failed")
            assert set(found["credential"]) <= {"id", "status", "vcId"}

    async def test_public_documents_never_show_the_name_email_or_holder(
        self, client: Client
    ) -> None:
        badge = await credential_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient, holderOcId=OCID, name=NAME)
        assertion = await client.get(public_path(instance["assertionUrl"], client), sign=False)
        assert assertion.status == 200
        badge_class = await client.get(public_path(assertion.body["badge"], client), sign=False)
        assert badge_class.status == 200
        for document in (assertion.body, badge_class.body):
            text = orjson.dumps(document).decode()
            for private in (NAME, recipient, OCID):
                assert private not in text


# --- the issuer's outcomes and revocation, on a stack without the issuer ------------------------


@pytest.fixture(scope="module")
def quiet_stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The badges service and the gateway alone: credentials stay pending until a test
    publishes the issuer's outcome itself."""
    isolation = Isolation(servers).create()
    running = Stack(isolation, tmp_path_factory.mktemp("no-issuer"))
    try:
        running.start("badges", "gateway", wait=False)
        running.wait_ready(services=("badges",))
        yield running
    finally:
        running.close()
        isolation.drop()


@pytest.fixture
def quiet(quiet_stack: Stack, http: aiohttp.ClientSession) -> Client:
    return Client(http, quiet_stack.base_url, quiet_stack.settings.master_secret_value)


@pytest.fixture
async def quiet_commands(quiet_stack: Stack) -> AsyncIterator[EventTap]:
    async with tap_events(quiet_stack, "issuer.*", "badge.revoked") as tap:
        yield tap


async def publish(stack: Stack, event: Message, system_id: int) -> None:
    """Publish `event` on the events exchange as the issuer would (persistent, confirmed)."""
    envelope = Envelope.wrap(event, correlation_id=unique("test"), system_id=system_id)
    connection = await aio_pika.connect(stack.isolation.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                message_id=str(envelope.message_id),
                type=envelope.type,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=envelope.type,
            mandatory=True,
        )


def outcome(system: str, credential_id: str, status: str, **extra: Any) -> dict[str, Any]:
    """The event data the issuer sends: `{system, credential: {...}}`."""
    return {
        "system": system,
        "credential": {
            "id": credential_id,
            "issuerReferenceId": f"plaudit:{uuid.uuid4()}",
            "kind": "OCA",
            "status": status,
            **extra,
        },
    }


async def issued(
    stack: Stack, badge: str, credential_id: str, system_id: int, **extra: Any
) -> None:
    data = outcome(badge.split("/")[2], credential_id, "issued", **extra)
    await publish(stack, CredentialIssued.from_data(data), system_id)


async def failed(stack: Stack, badge: str, credential_id: str, system_id: int) -> None:
    data = outcome(badge.split("/")[2], credential_id, "failed", error={"statusCode": 400})
    await publish(stack, CredentialFailed.from_data(data), system_id)


async def credential_of(client: Client, badge: str, recipient: str) -> dict[str, Any]:
    answer = await client.get(f"{badge}/instances/{recipient}")
    assert answer.status == 200, answer.body
    found: dict[str, Any] = answer.body["instance"]["credential"]
    return found


async def shows(client: Client, badge: str, recipient: str, expected: dict[str, Any]) -> None:
    async def matches() -> bool:
        return await credential_of(client, badge, recipient) == expected

    await eventually(matches, f"the credential to show {expected}")


async def handled(stack: Stack, system_id: int, event_type: str, count: int) -> None:
    """Until the badges service has handled `count` events of this type for the system."""

    async def enough() -> bool:
        return (await inbox_types(stack, system_id, "badges")).count(event_type) >= count

    await eventually(enough, f"{count} {event_type} handled by the badges service")


class TestIssuerOutcomes:
    async def test_issued_shows_the_status_and_the_vc_id(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        instance = await award(quiet, badge, recipient, holderOcId=OCID, name=NAME)
        credential_id = instance["credential"]["id"]
        await issued(quiet_stack, badge, credential_id, system_id, vcId="vc-123")
        expected = {"id": credential_id, "status": "issued", "vcId": "vc-123"}
        await shows(quiet, badge, recipient, expected)
        (listed,) = (await quiet.get(f"{badge}/instances")).body["instances"]
        assert listed["credential"] == expected

    async def test_failed_then_issued_after_a_retry(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        badge = await credential_badge(quiet, credential=OCB)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        instance = await award(quiet, badge, recipient, holderAddress=ADDRESS)
        credential_id = instance["credential"]["id"]
        await failed(quiet_stack, badge, credential_id, system_id)
        await shows(quiet, badge, recipient, {"id": credential_id, "status": "failed"})
        await issued(quiet_stack, badge, credential_id, system_id, vcId="vc-retried")
        expected = {"id": credential_id, "status": "issued", "vcId": "vc-retried"}
        await shows(quiet, badge, recipient, expected)

    async def test_a_late_failure_never_undoes_an_issued_credential(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        instance = await award(quiet, badge, recipient, holderOcId=OCID, name=NAME)
        credential_id = instance["credential"]["id"]
        await issued(quiet_stack, badge, credential_id, system_id, vcId="vc-1")
        expected = {"id": credential_id, "status": "issued", "vcId": "vc-1"}
        await shows(quiet, badge, recipient, expected)
        await failed(quiet_stack, badge, credential_id, system_id)
        await handled(quiet_stack, system_id, "credential.failed", 1)
        assert await credential_of(quiet, badge, recipient) == expected

    async def test_another_systems_event_changes_nothing(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        badge = await credential_badge(quiet)
        recipient = email()
        instance = await award(quiet, badge, recipient, holderOcId=OCID, name=NAME)
        credential_id = instance["credential"]["id"]
        other = await system_id_of(quiet, await make_system(quiet))
        await issued(quiet_stack, badge, credential_id, other, vcId="vc-foreign")
        await handled(quiet_stack, other, "credential.issued", 1)
        assert await credential_of(quiet, badge, recipient) == {
            "id": credential_id,
            "status": "pending",
        }

    async def test_an_unknown_credential_is_ignored(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        """Credentials issued directly through the API belong to no award."""
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        await issued(quiet_stack, badge, str(uuid.uuid4()), system_id, vcId="vc-direct")
        await failed(quiet_stack, badge, "not-a-uuid", system_id)
        await handled(quiet_stack, system_id, "credential.issued", 1)
        await handled(quiet_stack, system_id, "credential.failed", 1)


class TestRevoke:
    async def test_revoking_cancels_a_pending_credential(
        self, quiet: Client, quiet_stack: Stack, quiet_commands: EventTap
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        instance = await award(quiet, badge, recipient, holderOcId=OCID, name=NAME)
        credential_id = instance["credential"]["id"]
        answer = await quiet.delete(f"{badge}/instances/{recipient}")
        assert answer.status == 200, answer.body
        assert answer.body["instance"]["credential"] == {"id": credential_id, "status": "cancelled"}
        (cancel,) = await quiet_commands.wait("issuer.cancel_credential", system_id)
        assert cancel == {"credentialId": credential_id}

    async def test_an_issued_credential_stays_issued(
        self, quiet: Client, quiet_stack: Stack, quiet_commands: EventTap
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        holder, other = email(), email()
        first = await award(quiet, badge, holder, holderOcId=OCID, name=NAME)
        second = await award(quiet, badge, other, holderOcId=OCID, name=NAME)
        await issued(quiet_stack, badge, first["credential"]["id"], system_id, vcId="vc-kept")
        expected = {"id": first["credential"]["id"], "status": "issued", "vcId": "vc-kept"}
        await shows(quiet, badge, holder, expected)
        answer = await quiet.delete(f"{badge}/instances/{holder}")
        assert answer.body["instance"]["credential"] == expected
        # Only the pending one, revoked after it, is cancelled.
        await quiet.delete(f"{badge}/instances/{other}")
        (cancel,) = await quiet_commands.wait("issuer.cancel_credential", system_id)
        assert cancel == {"credentialId": second["credential"]["id"]}

    async def test_a_plain_award_revokes_as_before(
        self, quiet: Client, quiet_commands: EventTap
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        await award(quiet, badge, recipient)
        answer = await quiet.delete(f"{badge}/instances/{recipient}")
        assert answer.status == 200
        assert "credential" not in answer.body["instance"]
        await quiet_commands.wait("badge.revoked", system_id)
        assert quiet_commands.of("issuer.cancel_credential", system_id) == []


class TestPrivacy:
    async def test_logs_never_carry_the_name_email_or_holder(
        self, quiet: Client, quiet_stack: Stack
    ) -> None:
        badge = await credential_badge(quiet)
        system_id = await system_id_of(quiet, badge)
        recipient = email()
        name, ocid = f"Private {unique('name')}", f"{unique('holder')}.edu"
        instance = await award(quiet, badge, recipient, holderOcId=ocid, name=name)
        await issued(quiet_stack, badge, instance["credential"]["id"], system_id, vcId="vc-log")
        await handled(quiet_stack, system_id, "credential.issued", 1)
        await quiet.delete(f"{badge}/instances/{recipient}")
        for service in ("badges", "gateway"):
            text = quiet_stack.log_text(service)
            for private in (name, recipient, ocid):
                assert private not in text, f"{service} logged {private}"
