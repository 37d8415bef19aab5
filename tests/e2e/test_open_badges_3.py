"""Open Badges 3.0 through the running system: every award's signed credential, served as
JSON-LD and as a VC-JWT, accepted by an independent verifier (openbadgeslib, resolving the
system's did:web and its status list from this gateway); revocation through the status list;
keys that rotate without breaking what they signed, and retire."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiohttp
import jsonschema
import openbadgeslib.ob3.verifier
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openbadgeslib.ob3 import OB3LdpVerifier, OB3VerificationError, OB3Verifier
from openbadgeslib.ob3.did import resolve_verification_method
from openbadgeslib.ob3.ldp import verify_data_integrity_proof

from services.issuer.ob3 import data_integrity, keys, schemas
from services.issuer.ob3.status_list import StatusList
from tests.e2e.test_instances_api import award, email, in_days
from tests.e2e.test_public_documents import public_path
from tests.support.client import Client
from tests.support.events import eventually
from tests.support.factories import make_badge
from tests.support.stack import Stack, query

pytestmark = pytest.mark.e2e

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def system_of(badge: str) -> str:
    """`/systems/<slug>` of a badge path."""
    return "/".join(badge.split("/")[:3])


def resolver(client: Client) -> Any:
    """A download hook for openbadgeslib that fetches every document from the test gateway,
    whatever host it names (a did:web is always resolved over https at the DID's host)."""

    def download(url: str, *args: object, **kwargs: object) -> bytes:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with urllib.request.urlopen(client.base_url + path, timeout=10) as response:
            body: bytes = response.read()
            return body

    return download


async def credential_of(client: Client, instance: dict[str, Any]) -> dict[str, Any]:
    answer = await client.get(public_path(instance["openBadgeCredentialUrl"], client), sign=False)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("application/ld+json")
    document: dict[str, Any] = answer.body
    return document


async def jwt_of(client: Client, instance: dict[str, Any]) -> str:
    answer = await client.get(
        public_path(instance["openBadgeCredentialUrl"], client) + ".jwt", sign=False
    )
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/vc+jwt"
    token: str = answer.body
    return token


def verify_status_list(download: Any, credential: dict[str, Any]) -> None:
    """openbadgeslib checks a status list's window and bit, and the proof only of a list that is
    a JWT: the Data Integrity proof of ours is checked with its own building block, with the key
    it resolves from the issuer's DID document."""
    list_url = credential["credentialStatus"]["statusListCredential"]
    status_list = json.loads(download(list_url))
    assert status_list["issuer"] == credential["issuer"]["id"]
    method = status_list["proof"][0]["verificationMethod"]
    assert method.startswith(credential["issuer"]["id"] + "#")
    verify_data_integrity_proof(status_list, resolve_verification_method(method, download))


async def verify_ldp(client: Client, document: dict[str, Any]) -> Any:
    """openbadgeslib's verdict on a Data Integrity credential, its status list included."""
    download = resolver(client)

    def run() -> Any:
        verifier = OB3LdpVerifier.for_issuer_did(document["issuer"]["id"])
        verified = verifier.verify(
            document, check_status=True, download=download, verify_status_list=False
        )
        verify_status_list(download, document)
        return verified

    return await asyncio.to_thread(run)


async def verify_jwt(client: Client, token: str, issuer: str) -> Any:
    download = resolver(client)

    def run() -> Any:
        verifier = OB3Verifier.for_issuer_did(issuer, download=download)
        return verifier.verify(
            token, check_status=True, download=download, verify_status_list=False
        )

    return await asyncio.to_thread(run)


class TestIssuance:
    async def test_every_award_has_a_signed_credential_an_independent_verifier_accepts(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        recipient = email()
        instance = await award(
            client,
            badge,
            recipient,
            expires=in_days(30).isoformat(),
            evidence="https://e.example.org/1",
        )
        assert instance["openBadgeCredentialUrl"] == (
            f"{client.base_url}/public/credentials/{instance['slug']}"
        )
        document = await credential_of(client, instance)

        assert document["@context"] == CONTEXTS
        assert document["id"] == instance["openBadgeCredentialUrl"]
        assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        system = system_of(badge).removeprefix("/systems/")
        assert document["issuer"]["id"].endswith(f":public:systems:{system}")
        assert document["issuer"]["id"].startswith("did:web:127.0.0.1%3A")
        identity = document["credentialSubject"]["identifier"][0]
        digest = hashlib.sha256((recipient + identity["salt"]).encode()).hexdigest()
        assert identity["identityHash"] == f"sha256${digest}"
        assert recipient not in json.dumps(document)
        assert document["validUntil"] is not None
        assert document["evidence"] == [{"id": "https://e.example.org/1", "type": ["Evidence"]}]
        assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
        assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
        validator = jsonschema.Draft201909Validator(
            schemas.achievement_credential(), format_checker=jsonschema.FormatChecker()
        )
        assert list(validator.iter_errors(document)) == []

        verified = await verify_ldp(client, document)
        assert verified.issuer.id == document["issuer"]["id"]

    async def test_the_same_credential_as_a_vc_jwt(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        document = await credential_of(client, instance)
        token = await jwt_of(client, instance)
        negotiated = await client.get(
            public_path(instance["openBadgeCredentialUrl"], client),
            sign=False,
            headers={"Accept": "application/vc+jwt"},
        )
        assert negotiated.body == token
        assert "Accept" in negotiated.headers["Vary"]

        verified = await verify_jwt(client, token, document["issuer"]["id"])
        assert verified.issuer.id == document["issuer"]["id"]

    async def test_an_award_nobody_made_is_not_found(self, client: Client) -> None:
        answer = await client.get("/public/credentials/no-such-award", sign=False)
        assert answer.status == 404
        assert answer.body["code"] == "ResourceNotFound"


class TestRevocation:
    async def test_a_revoked_award_shows_revoked_through_the_status_list_within_seconds(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient)
        document = await credential_of(client, instance)
        await verify_ldp(client, document)

        revoked = await client.delete(f"{badge}/instances/{recipient}")
        assert revoked.status == 200

        async def refused() -> str | None:
            try:
                await verify_ldp(client, document)
            except OB3VerificationError as error:
                return str(error)
            return None

        reason = await eventually(refused, "the status list to show the revocation", timeout_s=10)
        assert "'revocation' is set" in reason
        # The credential itself stays, unchanged: only its status says it is revoked.
        assert await credential_of(client, instance) == document


class TestKeys:
    async def test_rotation_keeps_old_credentials_verifying_until_their_key_retires(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        system = system_of(badge)
        before = await credential_of(client, await award(client, badge, email()))
        listed = await client.get(f"{system}/signing-keys")
        assert listed.status == 200
        old = {key["id"]: key for key in listed.body["keys"]}
        assert sorted(key["type"] for key in old.values()) == ["Ed25519", "RSA"]
        assert {key["status"] for key in old.values()} == {"current"}
        assert all("d" not in key["publicKey"] for key in old.values())

        rotated = await client.post(f"{system}/signing-keys/rotate")
        assert rotated.status == 200
        assert rotated.body["status"] == "updated"
        statuses = {key["id"]: key["status"] for key in rotated.body["keys"]}
        assert all(statuses[key_id] == "previous" for key_id in old)
        assert sorted(s for key_id, s in statuses.items() if key_id not in old) == ["current"] * 2

        after = await credential_of(client, await award(client, badge, email()))
        assert after["proof"][0]["verificationMethod"] != before["proof"][0]["verificationMethod"]
        await verify_ldp(client, before)
        await verify_ldp(client, after)

        old_ed25519 = next(key_id for key_id, key in old.items() if key["type"] == "Ed25519")
        retired = await client.post(f"{system}/signing-keys/{old_ed25519}/retire")
        assert retired.status == 200
        assert {key["id"]: key["status"] for key in retired.body["keys"]}[old_ed25519] == "retired"
        did = await client.get(f"/public{system}/did.json", sign=False)
        assert old_ed25519 not in json.dumps(did.body)

        with pytest.raises(OB3VerificationError):
            await verify_ldp(client, before)
        await verify_ldp(client, after)

    async def test_a_current_key_cannot_be_retired(self, client: Client) -> None:
        system = system_of(await make_badge(client))
        keys = (await client.get(f"{system}/signing-keys")).body["keys"]
        answer = await client.post(f"{system}/signing-keys/{keys[0]['id']}/retire")
        assert answer.status == 409
        missing = await client.post(f"{system}/signing-keys/no-such-key/retire")
        assert missing.status == 404

    async def test_the_did_document_lists_every_published_key_under_the_systems_did(
        self, client: Client
    ) -> None:
        system = system_of(await make_badge(client))
        answer = await client.get(f"/public{system}/did.json", sign=False)
        assert answer.status == 200
        document = answer.body
        host = urlsplit(client.base_url).netloc.replace(":", "%3A")
        assert document["id"] == f"did:web:{host}:public:systems:{system.split('/')[-1]}"
        methods = document["verificationMethod"]
        assert sorted(method["type"] for method in methods) == ["JsonWebKey", "Multikey"]
        assert all(method["controller"] == document["id"] for method in methods)
        assert document["assertionMethod"] == [method["id"] for method in methods]
        assert '"d"' not in json.dumps(document)

    async def test_an_unknown_system_has_no_did_document(self, client: Client) -> None:
        answer = await client.get("/public/systems/no-such-system/did.json", sign=False)
        assert answer.status == 404


async def our_verdict(client: Client, body: bytes, content_type: str) -> dict[str, Any]:
    answer = await client.post("/public/verify", raw=body, content_type=content_type, sign=False)
    assert answer.status == 200, answer.body
    report: dict[str, Any] = answer.body
    return report


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {check["check"]: check["outcome"] for check in report["checks"]}


class TestOurVerifier:
    async def test_it_agrees_with_the_independent_one_before_and_after_a_revocation(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient)
        document = await credential_of(client, instance)
        token = await jwt_of(client, instance)
        for body, content_type, kind in (
            (json.dumps(document).encode(), "application/ld+json", "ob3-ldp"),
            (token.encode(), "application/vc+jwt", "ob3-jwt"),
        ):
            report = await our_verdict(client, body, content_type)
            assert report["verified"] is True, report
            assert report["kind"] == kind
            assert set(outcomes(report).values()) == {"passed"}, report

        assert (await client.delete(f"{badge}/instances/{recipient}")).status == 200

        async def listed_revoked() -> bool:
            status_list = await client.get(
                public_path(document["credentialStatus"]["statusListCredential"], client),
                sign=False,
            )
            encoded = status_list.body["credentialSubject"]["encodedList"]
            index = int(document["credentialStatus"]["statusListIndex"])
            return StatusList.decode(encoded).get(index)

        # Polled on the list itself: the verifier is rate-limited per address, as it should be.
        await eventually(listed_revoked, "the status list to show the revocation", timeout_s=10)
        report = await our_verdict(client, json.dumps(document).encode(), "application/json")
        assert outcomes(report)["status"] == "failed", report
        assert report["verified"] is False
        assert outcomes(report)["proof"] == "passed"

    async def test_our_own_urls_are_read_without_going_out(
        self, own_stack: Callable[..., Stack], http: aiohttp.ClientSession
    ) -> None:
        """With private addresses refused (as in production), the gateway's own loopback URLs
        would be refused too: only reading them internally verifies them."""
        stack = own_stack(WEBHOOK_ALLOW_PRIVATE="false")
        stack.start()
        client = Client(http, stack.base_url, stack.settings.master_secret_value)
        instance = await award(client, await make_badge(client), email())
        document = await credential_of(client, instance)

        body = json.dumps({"url": instance["openBadgeCredentialUrl"]}).encode()
        report = await our_verdict(client, body, "application/json")
        assert report["verified"] is True, report
        assert report["credential"]["issuer"]["id"] == document["issuer"]["id"]
        assert set(outcomes(report).values()) == {"passed"}, report


async def badge_on_own_stack(
    own_stack: Callable[..., Stack], http: aiohttp.ClientSession
) -> tuple[Stack, Client, str]:
    """A stack of the test's own, started, a client of it, and a badge made there."""
    stack = own_stack()
    stack.start()
    client = Client(http, stack.base_url, stack.settings.master_secret_value)
    return stack, client, await make_badge(client)


class TestThroughCrashes:
    """SIGKILL of the issuer (the signing service) mid-burst, twice: every award ends with
    exactly one signed credential and one status index, and each list counts what it gave."""

    AWARDS = 200
    CONCURRENCY = 16

    async def test_every_award_is_signed_exactly_once(
        self, own_stack: Callable[..., Stack], http: aiohttp.ClientSession
    ) -> None:
        stack, client, badge = await badge_on_own_stack(own_stack, http)
        slugs: list[str] = []
        limit = asyncio.Semaphore(self.CONCURRENCY)
        answered = asyncio.Condition()

        async def one(recipient: str) -> None:
            async with limit:
                instance = await award(client, badge, recipient)
            async with answered:
                slugs.append(instance["slug"])
                answered.notify_all()

        async def kill_twice() -> None:
            for share in (1, 2):
                enough = share * self.AWARDS // 3
                async with answered:
                    await answered.wait_for(lambda enough=enough: len(slugs) >= enough)
                stack.kill("issuer")
                stack.start("issuer", wait=False)

        killer = asyncio.create_task(kill_twice())
        await asyncio.gather(*(one(email()) for _ in range(self.AWARDS)))
        await killer
        stack.wait_ready()

        async def all_signed() -> bool:
            count = (await query(stack, "SELECT count(*) FROM issuer.open_badges"))[0][0]
            assert count <= self.AWARDS
            return bool(count == self.AWARDS)

        await eventually(all_signed, "every award's credential to be signed", timeout_s=60)
        signed = await query(
            stack, "SELECT slug, status_list_id, status_index FROM issuer.open_badges"
        )
        assert sorted(row["slug"] for row in signed) == sorted(slugs)
        slots = {(row["status_list_id"], row["status_index"]) for row in signed}
        assert len(slots) == self.AWARDS, "a status index given twice"
        lists = await query(stack, "SELECT id, used FROM issuer.status_lists")
        given = {row["id"]: row["used"] for row in lists}
        held: dict[str, int] = {}
        for list_id, _ in slots:
            held[list_id] = held.get(list_id, 0) + 1
        assert given == held, "a list counts an index no credential holds, or the reverse"
        # What was signed around the crashes verifies, its status list included.
        for slug in (slugs[0], slugs[self.AWARDS // 2], slugs[-1]):
            instance = {"openBadgeCredentialUrl": f"{stack.base_url}/public/credentials/{slug}"}
            await verify_ldp(client, await credential_of(client, instance))


class TestBackfill:
    """Awards made before credentials existed (their `badge.awarded` never reached a signer) get
    theirs when the badges service starts: verified by the independent verifier, a revoked one
    born revoked, and an award signed already left as it is."""

    async def test_old_awards_are_signed_once_after_an_upgrade(
        self, own_stack: Callable[..., Stack], http: aiohttp.ClientSession
    ) -> None:
        stack, client, badge = await badge_on_own_stack(own_stack, http)
        signed_before = await award(client, badge, email())
        kept = await credential_of(client, signed_before)
        # The awards of an older version: no signer hears of them.
        stack.stop("issuer")
        recipients = [email() for _ in range(3)]
        old = [await award(client, badge, recipient) for recipient in recipients]
        assert (await client.delete(f"{badge}/instances/{recipients[2]}")).status == 200
        connection = await aio_pika.connect(stack.isolation.amqp_url)
        async with connection:
            queue = await (await connection.channel()).get_queue("issuer.events")
            await queue.purge()
        # As the migration marks every award present when credentials came.
        await query(stack, "UPDATE badges.instances SET open_badge_pending = true")
        stack.stop("badges")
        stack.start("badges", "issuer")
        stack.wait_ready()

        async def all_signed() -> bool:
            count = (await query(stack, "SELECT count(*) FROM issuer.open_badges"))[0][0]
            return bool(count == 4)

        await eventually(all_signed, "the old awards' credentials", timeout_s=30)
        assert await credential_of(client, signed_before) == kept
        for instance in old[:2]:
            verified = await verify_ldp(client, await credential_of(client, instance))
            assert verified is not None
        with pytest.raises(OB3VerificationError, match="'revocation' is set"):
            await verify_ldp(client, await credential_of(client, old[2]))
        assert (
            await query(stack, "SELECT count(*) FROM badges.instances WHERE open_badge_pending")
        )[0][0] == 0
        # Nothing more to do: the drain ends (it looks again PAUSE_S after its last chunk, so
        # the line may come after the checks above).

        async def finished() -> bool:
            return "open_badge.backfill_finished" in stack.log_text("badges")

        await eventually(finished, "the backfill to finish")


class TestWhatVerifiersSee:
    """Each way a credential can be wrong, reported by our verifier and by the independent one
    alike."""

    async def test_a_tampered_field_and_a_foreign_key(self, client: Client) -> None:
        document = await credential_of(
            client, await award(client, await make_badge(client), email())
        )
        tampered = {**document, "name": "Master of Everything"}
        foreign = keys.generate(keys.KeyType.ED25519)
        assert isinstance(foreign.private, Ed25519PrivateKey)
        unsigned = {key: value for key, value in document.items() if key != "proof"}
        # Signed by a key the issuer never published, under the issuer's own method id.
        forged = data_integrity.add_proof(
            unsigned, foreign.private, document["proof"][0]["verificationMethod"], datetime.now(UTC)
        )
        for wrong in (tampered, {**forged, "proof": [forged["proof"]]}):
            with pytest.raises(OB3VerificationError):
                await verify_ldp(client, wrong)
            report = await our_verdict(client, json.dumps(wrong).encode(), "application/json")
            assert report["verified"] is False
            assert outcomes(report)["proof"] == "failed", report

    async def test_an_expired_credential(
        self, client: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # openbadgeslib forgives a few minutes of clock skew; this test cannot wait that long.
        monkeypatch.setattr(openbadgeslib.ob3.verifier, "CLOCK_SKEW_LEEWAY", timedelta(0))
        expires = datetime.now(UTC) + timedelta(seconds=3)
        instance = await award(
            client, await make_badge(client), email(), expires=expires.isoformat()
        )
        document = await credential_of(client, instance)

        async def past() -> bool:
            return datetime.now(UTC) > expires

        await eventually(past, "the credential's expiry", timeout_s=10)
        report = await our_verdict(client, json.dumps(document).encode(), "application/json")
        assert outcomes(report)["validity"] == "failed", report
        assert report["verified"] is False
        with pytest.raises(OB3VerificationError, match=r"(?i)expir"):
            await verify_ldp(client, document)

    async def test_a_retired_key_fails_for_our_verifier_too(self, client: Client) -> None:
        badge = await make_badge(client)
        system = system_of(badge)
        document = await credential_of(client, await award(client, badge, email()))
        method = document["proof"][0]["verificationMethod"]
        assert (await client.post(f"{system}/signing-keys/rotate")).status == 200
        retired = await client.post(f"{system}/signing-keys/{method.partition('#')[2]}/retire")
        assert retired.status == 200, retired.body
        report = await our_verdict(client, json.dumps(document).encode(), "application/json")
        assert report["verified"] is False
        assert "failed" in {outcomes(report)["proof"], outcomes(report)["issuer"]}, report

    async def test_the_badges_alignments_tags_and_type_are_in_the_achievement(
        self, client: Client
    ) -> None:
        badge = await make_badge(
            client,
            alignments=[{"name": "Literacy", "url": "https://example.org/lit"}],
            tags=["books", "summer"],
            credential={"kind": "OCA", "achievementType": "Certificate"},
        )
        document = await credential_of(client, await award(client, badge, email()))
        achievement = document["credentialSubject"]["achievement"]
        assert achievement["achievementType"] == "Certificate"
        assert achievement["alignment"] == [
            {
                "type": ["Alignment"],
                "targetName": "Literacy",
                "targetUrl": "https://example.org/lit",
            }
        ]
        assert achievement["tag"] == ["books", "summer"]
        await verify_ldp(client, document)


class TestAccess:
    async def test_a_systems_own_key_manages_its_keys_and_no_other(self, client: Client) -> None:
        system = system_of(await make_badge(client))
        other = system_of(await make_badge(client))
        made = await client.post(f"{system}/consumers", json={"description": "keys"})
        own = client.as_key(made.body["consumer"]["apiKey"], made.body["consumer"]["apiSecret"])
        assert (await own.get(f"{system}/signing-keys")).status == 200
        assert (await own.post(f"{system}/signing-keys/rotate")).status == 200
        assert (await own.get(f"{other}/signing-keys")).status == 403
        assert (await own.post(f"{other}/signing-keys/rotate")).status == 403

    async def test_no_private_key_in_any_log(self, client: Client, stack: Stack) -> None:
        await credential_of(client, await award(client, await make_badge(client), email()))
        for name in ("gateway", "badges", "issuer", "webhooks"):
            text = stack.log_text(name)
            assert "PRIVATE KEY" not in text, name
            assert '"d":' not in text, name
