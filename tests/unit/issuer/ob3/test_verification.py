"""The verifier: credentials signed by our library for did:web, did:key and did:jwk issuers, as
JSON-LD, VC-JWT, baked images and URLs, valid and broken every way a check catches; OB 2.0
hosted assertions; what is no credential at all; and openbadgeslib agreeing on the verdicts."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from openbadgeslib.ob3 import OB3LdpVerifier, OB3VerificationError, OB3Verifier

from services.issuer.fetcher import Fetched, FetchFailed
from services.issuer.ob3 import baking, data_integrity, did, keys, status_list, vc_jwt
from services.issuer.ob3.report import CHECKS, Report
from services.issuer.ob3.resolving import did_web_url
from services.issuer.ob3.verification import NotACredential, Verifier
from tests.unit.issuer.ob3 import samples
from tests.unit.issuer.ob3.test_baking import make_png

CREATED = datetime(2025, 3, 1, 12, tzinfo=UTC)
LIST_URL = f"{samples.PUBLIC_URL}/public/systems/{samples.SYSTEM}/status/1"
INDEX = 4242
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


class Network:
    """Documents by URL, in memory: the verifier's resolver and openbadgeslib's download hook."""

    def __init__(self) -> None:
        self.documents: dict[str, Fetched] = {}
        self.asked: list[str] = []

    def serve(self, url: str, body: Any, status: int = 200, content_type: str = "") -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.documents[url] = Fetched(status, content_type or "application/json", raw)

    async def fetch(self, url: str, *, accept: str = "") -> Fetched:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchFailed(url, "the host cannot be reached")
        return self.documents[url]

    def download(self, url: str, *args: object, **kwargs: object) -> bytes:
        if url not in self.documents or self.documents[url].status != 200:
            raise OSError(f"no document at {url}")
        return self.documents[url].body


class Issuer:
    """An issuer of credentials: its DID, its keys, its signed status list on the network."""

    def __init__(self, network: Network, kind: str = "web") -> None:
        self.network = network
        self.ed25519 = keys.generate(keys.KeyType.ED25519)
        self.rsa = _RSA
        if kind == "web":
            self.system = samples.System(
                did.did_web(samples.PUBLIC_URL, "demo"), self.ed25519, _RSA
            )
            self.did = self.system.did
            network.serve(did.did_web_document_url(self.did), self.system.document())
        elif kind == "key":
            self.did = "did:key:" + keys.public_multibase(ed25519(self.ed25519).public_key())
        else:
            jwk = json.dumps(keys.public_jwk(_RSA.public), separators=(",", ":")).encode()
            self.did = "did:jwk:" + base64.urlsafe_b64encode(jwk).rstrip(b"=").decode()
        self.kind = kind
        self.publish_list()

    def method(self, key: keys.SigningKey) -> str:
        if self.kind == "key":
            return f"{self.did}#{self.did.removeprefix('did:key:')}"
        if self.kind == "jwk":
            return f"{self.did}#0"
        return did.verification_method_id(self.did, key.id)

    def publish_list(
        self, revoked: Iterable[int] = (), *, key: keys.SigningKey | None = None, issuer: str = ""
    ) -> None:
        bits = status_list.StatusList()
        for index in revoked:
            bits.set(index)
        document = status_list.status_list_credential(
            list_url=LIST_URL,
            issuer=issuer or self.did,
            valid_from=CREATED,
            encoded_list=bits.encode(),
        )
        signer = key or self.ed25519
        signed = data_integrity.add_proof(document, ed25519(signer), self.method(signer), CREATED)
        self.network.serve(LIST_URL, signed)

    def credential(self, **dates: str) -> dict[str, Any]:
        document = samples.credential(self.did, valid_until=dates.get("valid_until"))
        if "valid_from" in dates:
            document["validFrom"] = dates["valid_from"]
        document["credentialStatus"] = status_list.status_entry(LIST_URL, INDEX)
        return document

    def ldp(
        self, document: dict[str, Any] | None = None, key: keys.SigningKey | None = None
    ) -> dict[str, Any]:
        signer = key or self.ed25519
        return data_integrity.add_proof(
            document or self.credential(), ed25519(signer), self.method(signer), CREATED
        )

    def jwt(
        self, document: dict[str, Any] | None = None, key: keys.SigningKey | None = None
    ) -> str:
        signer = key or self.rsa
        assert isinstance(signer.private, RSAPrivateKey)
        return vc_jwt.encode(document or self.credential(), signer.private, self.method(signer))


_RSA = keys.generate(keys.KeyType.RSA)  # RSA keys take a while to make: one for the module


def ed25519(key: keys.SigningKey) -> Ed25519PrivateKey:
    assert isinstance(key.private, Ed25519PrivateKey)
    return key.private


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def issuer(network: Network) -> Issuer:
    return Issuer(network)


@pytest.fixture
def verifier(network: Network) -> Verifier:
    return Verifier(network)


def outcomes(report: Report) -> dict[str, str]:
    return {check.check: check.outcome for check in report.checks}


def passed_all(report: Report) -> bool:
    return all(check.outcome == "passed" for check in report.checks)


class TestJsonLd:
    async def test_a_valid_credential(self, verifier: Verifier, issuer: Issuer) -> None:
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.kind == "ob3-ldp"
        assert [check.check for check in report.checks] == list(CHECKS)
        assert passed_all(report), report
        assert report.verified
        wire = report.to_wire()
        assert wire["verified"] is True
        assert wire["credential"] == {
            "issuer": {"id": issuer.did, "name": "Demo"},
            "achievement": {
                "id": f"{samples.PUBLIC_URL}/public/systems/demo/badges/reader",
                "name": "Reader",
            },
            "validFrom": "2025-03-01T12:00:00Z",
            "validUntil": None,
        }
        assert "Demo" in report.message("issuer")

    async def test_a_changed_field_fails_the_proof(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        signed = issuer.ldp()
        signed["name"] = "Writer"
        report = await verifier.verify_ldp(signed)
        assert not report.verified
        assert report.outcome("proof") == "failed"
        assert report.message("proof") == (
            "signature does not match: the credential was changed after signing"
        )
        assert [report.outcome(name) for name in ("issuer", "status", "validity")] == [
            "skipped"
        ] * 3
        assert "proof did not verify" in report.message("validity")

    async def test_a_verified_claim_of_its_own_is_not_believed(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        signed = issuer.ldp()
        signed["verified"] = True
        report = await verifier.verify_ldp(signed)
        assert report.outcome("proof") == "failed"
        assert not report.verified

    async def test_a_key_the_did_document_does_not_list(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        stranger = keys.generate(keys.KeyType.ED25519)
        report = await verifier.verify_ldp(issuer.ldp(key=stranger))
        assert report.outcome("proof") == "failed"
        assert report.message("proof") == (
            f"key #{stranger.id} is not in the issuer's DID document (retired or never published)"
        )

    async def test_a_key_of_another_did(self, verifier: Verifier, network: Network) -> None:
        issuer, other = Issuer(network), Issuer(network, "key")
        signed = data_integrity.add_proof(
            issuer.credential(), ed25519(other.ed25519), other.method(other.ed25519), CREATED
        )
        report = await verifier.verify_ldp(signed)
        assert report.outcome("proof") == "failed"
        assert "is not the issuer's" in report.message("proof")

    async def test_an_unreachable_did_document(self, verifier: Verifier, issuer: Issuer) -> None:
        del issuer.network.documents[did.did_web_document_url(issuer.did)]
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.outcome("proof") == "failed"
        assert "could not fetch the DID document" in report.message("proof")

    async def test_revoked(self, verifier: Verifier, issuer: Issuer) -> None:
        issuer.publish_list(revoked=[INDEX])
        report = await verifier.verify_ldp(issuer.ldp())
        assert outcomes(report)["status"] == "failed"
        assert report.message("status") == "revoked by its issuer"
        assert not report.verified

    async def test_another_bit_set_is_not_this_credential(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        issuer.publish_list(revoked=[INDEX + 1])
        assert (await verifier.verify_ldp(issuer.ldp())).verified

    async def test_a_status_list_signed_by_another_key_is_not_believed(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        issuer.publish_list(key=keys.generate(keys.KeyType.ED25519))
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.outcome("status") == "failed"
        assert "status list's signature" in report.message("status")

    async def test_a_status_list_of_another_issuer_is_not_believed(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        issuer.publish_list(issuer="did:web:elsewhere.example")
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.outcome("status") == "failed"
        assert "not by the credential's issuer" in report.message("status")

    async def test_an_unreachable_status_list_fails_closed(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        del issuer.network.documents[LIST_URL]
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.outcome("status") == "failed"
        assert "cannot tell whether it is revoked" in report.message("status")

    async def test_without_a_status_entry(self, verifier: Verifier, issuer: Issuer) -> None:
        document = issuer.credential()
        del document["credentialStatus"]
        report = await verifier.verify_ldp(issuer.ldp(document))
        assert report.outcome("status") == "skipped"
        assert report.verified

    async def test_expired(self, verifier: Verifier, issuer: Issuer) -> None:
        document = issuer.credential(valid_until="2025-04-01T00:00:00Z")
        report = await verifier.verify_ldp(issuer.ldp(document))
        assert report.outcome("validity") == "failed"
        assert report.message("validity") == "expired on 2025-04-01T00:00:00Z"
        assert report.outcome("proof") == "passed"
        assert not report.verified

    async def test_not_yet_valid(self, verifier: Verifier, issuer: Issuer) -> None:
        document = issuer.credential(valid_from="2099-01-01T00:00:00Z")
        report = await verifier.verify_ldp(issuer.ldp(document))
        assert report.message("validity") == "not valid until 2099-01-01T00:00:00Z"
        assert not report.verified

    async def test_the_clock_decides(self, network: Network, issuer: Issuer) -> None:
        document = issuer.credential(valid_until="2030-01-01T00:00:00Z")
        early = Verifier(network, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
        late = Verifier(network, clock=lambda: datetime(2031, 1, 1, tzinfo=UTC))
        assert (await early.verify_ldp(issuer.ldp(document))).verified
        assert not (await late.verify_ldp(issuer.ldp(document))).verified

    async def test_a_did_key_issuer(self, verifier: Verifier, network: Network) -> None:
        issuer = Issuer(network, "key")
        report = await verifier.verify_ldp(issuer.ldp())
        assert report.verified
        assert report.outcome("issuer") == "warning"
        assert "did:key is its own key" in report.message("issuer")

    @pytest.mark.parametrize(
        ("context", "message"),
        [
            ([samples.VC_CONTEXT], "does not name the Open Badges 3.0 context"),
            ([samples.OB_CONTEXT, samples.VC_CONTEXT], "must start with"),
            (["https://www.w3.org/2018/credentials/v1", samples.OB_CONTEXT], "VC Data Model 1.1"),
        ],
    )
    async def test_a_wrong_context(
        self, verifier: Verifier, issuer: Issuer, context: list[str], message: str
    ) -> None:
        document = {**issuer.ldp(), "@context": context}
        report = await verifier.verify_ldp(document)
        assert report.outcome("structure") == "failed"
        assert message in report.message("structure")
        assert [report.outcome(name) for name in CHECKS[2:]] == ["skipped"] * 4
        assert not report.verified

    async def test_a_schema_violation(self, verifier: Verifier, issuer: Issuer) -> None:
        document = issuer.credential()
        del document["credentialSubject"]["achievement"]["criteria"]
        report = await verifier.verify_ldp(issuer.ldp(document))
        assert report.outcome("schema") == "failed"
        assert "criteria" in report.message("schema")
        assert report.outcome("proof") == "passed"
        assert not report.verified

    async def test_a_date_that_is_no_date_time_breaks_the_schema(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        document = issuer.credential()
        document["validFrom"] = "5 December 2026"
        report = await verifier.verify_ldp(issuer.ldp(document))
        assert report.outcome("schema") == "failed"
        assert "date-time" in report.message("schema")
        assert not report.verified

    async def test_a_deeply_nested_document_is_not_processed(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        nested: Any = "x"
        for _ in range(40):
            nested = [nested]
        report = await verifier.verify_ldp({**issuer.ldp(), "description": nested})
        assert report.outcome("structure") == "failed"
        assert report.outcome("proof") == "skipped"


class TestJwt:
    async def test_a_valid_token(self, verifier: Verifier, issuer: Issuer) -> None:
        report = await verifier.verify_jwt(issuer.jwt())
        assert report.kind == "ob3-jwt"
        assert passed_all(report), report
        assert report.credential.issuer_id == issuer.did

    async def test_a_tampered_payload(self, verifier: Verifier, issuer: Issuer) -> None:
        header, payload, signature = issuer.jwt().split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["name"] = "Writer"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        report = await verifier.verify_jwt(f"{header}.{forged}.{signature}")
        assert report.outcome("proof") == "failed"
        assert report.message("proof").startswith("signature does not match")

    async def test_a_key_the_did_document_does_not_list(
        self, verifier: Verifier, issuer: Issuer
    ) -> None:
        stranger = keys.generate(keys.KeyType.RSA)
        report = await verifier.verify_jwt(issuer.jwt(key=stranger))
        assert "is not in the issuer's DID document" in report.message("proof")

    async def test_another_algorithm(self, verifier: Verifier, issuer: Issuer) -> None:
        token = jwt.encode(issuer.credential(), "a secret of thirty-two bytes or more!", "HS256")
        report = await verifier.verify_jwt(token)
        assert report.outcome("structure") == "failed"
        assert "RS256" in report.message("structure")

    async def test_revoked_and_expired(self, verifier: Verifier, issuer: Issuer) -> None:
        issuer.publish_list(revoked=[INDEX])
        token = issuer.jwt(issuer.credential(valid_until="2025-04-01T00:00:00Z"))
        report = await verifier.verify_jwt(token)
        assert report.outcome("status") == "failed"
        assert report.outcome("validity") == "failed"

    async def test_a_did_jwk_issuer(self, verifier: Verifier, network: Network) -> None:
        issuer = Issuer(network, "jwk")
        # A did:jwk of an RSA key signs the token, its Ed25519 list stands for the status list:
        # no status entry, so only the token is checked.
        document = issuer.credential()
        del document["credentialStatus"]
        report = await verifier.verify_jwt(issuer.jwt(document))
        assert report.verified
        assert report.outcome("issuer") == "warning"


class TestSubmission:
    async def test_json_ld_body(self, verifier: Verifier, issuer: Issuer) -> None:
        body = json.dumps(issuer.ldp()).encode()
        report = await verifier.verify_body(body, "application/ld+json")
        assert report.kind == "ob3-ldp"
        assert report.verified

    @pytest.mark.parametrize("content_type", ["application/vc+jwt", "text/plain", ""])
    async def test_jwt_body(self, verifier: Verifier, issuer: Issuer, content_type: str) -> None:
        report = await verifier.verify_body(issuer.jwt().encode() + b"\n", content_type)
        assert report.kind == "ob3-jwt"
        assert report.verified

    async def test_baked_png_of_json_ld(self, verifier: Verifier, issuer: Issuer) -> None:
        image = baking.bake_png(make_png(), json.dumps(issuer.ldp()))
        report = await verifier.verify_body(image, "image/png")
        assert report.kind == "ob3-ldp"
        assert report.verified

    async def test_baked_png_of_a_jwt(self, verifier: Verifier, issuer: Issuer) -> None:
        image = baking.bake_png(make_png(), issuer.jwt())
        report = await verifier.verify_body(image, "application/octet-stream")
        assert report.kind == "ob3-jwt"
        assert report.verified

    async def test_baked_svg(self, verifier: Verifier, issuer: Issuer) -> None:
        for baked, kind in (
            (baking.bake_svg(SVG, json=json.dumps(issuer.ldp())), "ob3-ldp"),
            (baking.bake_svg(SVG, verify=issuer.jwt()), "ob3-jwt"),
        ):
            report = await verifier.verify_body(baked, "image/svg+xml")
            assert report.kind == kind
            assert report.verified

    async def test_a_baked_tampered_credential(self, verifier: Verifier, issuer: Issuer) -> None:
        signed = issuer.ldp()
        signed["name"] = "Writer"
        report = await verifier.verify_body(baking.bake_png(make_png(), json.dumps(signed)), "")
        assert report.outcome("proof") == "failed"

    async def test_a_url_of_json_ld(
        self, verifier: Verifier, issuer: Issuer, network: Network
    ) -> None:
        url = f"{samples.PUBLIC_URL}/public/credentials/4kq7z2"
        network.serve(url, issuer.ldp(), content_type="application/ld+json")
        report = await verifier.verify_body(json.dumps({"url": url}).encode(), "application/json")
        assert report.kind == "ob3-ldp"
        assert report.verified

    async def test_a_url_of_a_jwt(
        self, verifier: Verifier, issuer: Issuer, network: Network
    ) -> None:
        url = f"{samples.PUBLIC_URL}/public/credentials/4kq7z2.jwt"
        network.serve(url, issuer.jwt().encode(), content_type="application/vc+jwt")
        report = await verifier.verify_url(url)
        assert report.kind == "ob3-jwt"
        assert report.verified

    @pytest.mark.parametrize(
        ("body", "content_type", "message"),
        [
            (b"", "application/json", "neither"),
            (b"\xff\xfe", "application/octet-stream", "neither"),
            (b"[1, 2]", "application/json", "not an object"),
            (b'{"name": "no credential"}', "application/json", "neither a credential"),
            (b"hello", "text/plain", "not a compact JWS"),
            (b'{"url": "ftp://example.org"}', "application/json", r"http\(s\) URL"),
            (b'{"url": "https://nowhere.example/x"}', "application/json", "could not fetch"),
            (make_png(), "image/png", "no baked credential"),
            (SVG, "image/svg+xml", "no baked credential"),
            (baking.PNG_SIGNATURE + b"junk", "image/png", "cannot be read"),
        ],
    )
    async def test_what_is_no_credential(
        self, verifier: Verifier, body: bytes, content_type: str, message: str
    ) -> None:
        with pytest.raises(NotACredential, match=message):
            await verifier.verify_body(body, content_type)


ASSERTION_URL = "https://badges.example.org/public/assertions/a1"
BADGE_URL = "https://badges.example.org/public/systems/demo/badges/reader"
ISSUER_URL = "https://badges.example.org/public/systems/demo"


def hosted(network: Network, status: int = 200, **fields: Any) -> None:
    context = "https://w3id.org/openbadges/v2"
    assertion = {
        "@context": context,
        "type": "Assertion",
        "id": ASSERTION_URL,
        "recipient": {"type": "email", "hashed": True, "identity": "sha256$00"},
        "badge": BADGE_URL,
        "verification": {"type": "HostedBadge"},
        "issuedOn": "2025-03-01T12:00:00+00:00",
        **fields,
    }
    network.serve(ASSERTION_URL, assertion, status)
    network.serve(
        BADGE_URL,
        {
            "@context": context,
            "type": "BadgeClass",
            "id": BADGE_URL,
            "name": "Reader",
            "issuer": ISSUER_URL,
        },
    )
    network.serve(
        ISSUER_URL, {"@context": context, "type": "Issuer", "id": ISSUER_URL, "name": "Demo"}
    )


class TestHosted:
    async def test_a_hosted_assertion(self, verifier: Verifier, network: Network) -> None:
        hosted(network)
        report = await verifier.verify_url(ASSERTION_URL)
        assert report.kind == "ob2-hosted"
        assert report.verified
        assert report.outcome("schema") == "skipped"
        assert report.to_wire()["credential"]["issuer"] == {"id": ISSUER_URL, "name": "Demo"}
        assert report.credential.achievement_name == "Reader"

    async def test_revoked_answers_410(self, verifier: Verifier, network: Network) -> None:
        hosted(network, 410, revoked=True, revocationReason="awarded in error")
        report = await verifier.verify_url(ASSERTION_URL)
        assert report.message("status") == "revoked by its issuer: awarded in error"
        assert not report.verified

    async def test_expired(self, verifier: Verifier, network: Network) -> None:
        hosted(network, expires="2025-04-01T00:00:00+00:00")
        report = await verifier.verify_url(ASSERTION_URL)
        assert report.message("validity") == "expired on 2025-04-01T00:00:00+00:00"

    async def test_a_copy_elsewhere_is_not_the_issuers(
        self, verifier: Verifier, network: Network
    ) -> None:
        hosted(network)
        copy = "https://copies.example/a1"
        network.documents[copy] = network.documents[ASSERTION_URL]
        report = await verifier.verify_url(copy)
        assert report.outcome("proof") == "failed"
        assert "a copy" in report.message("proof")

    async def test_an_assertion_posted_is_fetched_again(
        self, verifier: Verifier, network: Network
    ) -> None:
        hosted(network, 410, revoked=True)
        posted = json.loads(network.documents[ASSERTION_URL].body)
        del posted["revoked"]
        report = await verifier.verify_body(json.dumps(posted).encode(), "application/json")
        assert report.outcome("status") == "failed"

    async def test_an_unreachable_badge_class(self, verifier: Verifier, network: Network) -> None:
        hosted(network)
        del network.documents[BADGE_URL]
        report = await verifier.verify_url(ASSERTION_URL)
        assert report.outcome("issuer") == "failed"
        assert "could not fetch the BadgeClass" in report.message("issuer")

    async def test_another_origin_than_its_issuer(
        self, verifier: Verifier, network: Network
    ) -> None:
        hosted(network, verification={"type": "HostedBadge", "allowedOrigins": ["other.example"]})
        report = await verifier.verify_url(ASSERTION_URL)
        assert report.outcome("issuer") == "failed"


class TestDidWeb:
    def test_https(self) -> None:
        assert did_web_url("did:web:example.org", http_loopback=True) == (
            "https://example.org/.well-known/did.json"
        )

    def test_http_for_a_loopback_host_when_allowed(self) -> None:
        name = "did:web:127.0.0.1%3A8080:public:systems:demo"
        assert did_web_url(name, http_loopback=True) == (
            "http://127.0.0.1:8080/public/systems/demo/did.json"
        )
        assert did_web_url(name, http_loopback=False).startswith("https://")


class TestOpenbadgeslibAgrees:
    """openbadgeslib's verdict on the same credentials, through the same documents."""

    @staticmethod
    def theirs_ldp(issuer: Issuer, document: dict[str, Any]) -> bool:
        try:
            OB3LdpVerifier.for_issuer_did(issuer.did).verify(
                document,
                check_status=True,
                download=issuer.network.download,
                verify_status_list=False,  # it verifies only JWT-signed lists
            )
        except OB3VerificationError:
            return False
        return True

    @staticmethod
    def theirs_jwt(issuer: Issuer, token: str) -> bool:
        try:
            OB3Verifier.for_issuer_did(issuer.did, download=issuer.network.download).verify(
                token, check_status=True, download=issuer.network.download, verify_status_list=False
            )
        except OB3VerificationError:
            return False
        return True

    @pytest.mark.parametrize(
        "case", ["valid", "tampered", "foreign key", "revoked", "expired", "not yet valid"]
    )
    @pytest.mark.parametrize("kind", ["web", "key"])
    async def test_data_integrity(self, network: Network, case: str, kind: str) -> None:
        issuer = Issuer(network, kind)
        signed = _case(issuer, case, issuer.ldp)
        ours = (await Verifier(network).verify_ldp(signed)).verified
        assert ours == self.theirs_ldp(issuer, signed) == (case == "valid")

    @pytest.mark.parametrize(
        "case", ["valid", "tampered", "foreign key", "revoked", "expired", "not yet valid"]
    )
    async def test_vc_jwt(self, network: Network, case: str) -> None:
        issuer = Issuer(network)
        token = _case(issuer, case, issuer.jwt)
        ours = (await Verifier(network).verify_jwt(token)).verified
        assert ours == self.theirs_jwt(issuer, token) == (case == "valid")


def _case(issuer: Issuer, case: str, sign: Any) -> Any:
    if case == "revoked":
        issuer.publish_list(revoked=[INDEX])
    if case == "expired":
        return sign(issuer.credential(valid_until="2025-04-01T00:00:00Z"))
    if case == "not yet valid":
        return sign(issuer.credential(valid_from="2099-01-01T00:00:00Z"))
    if case == "foreign key":
        kind = keys.KeyType.RSA if sign == issuer.jwt else keys.KeyType.ED25519
        stranger = keys.generate(kind) if kind is keys.KeyType.ED25519 else _STRANGER_RSA
        if issuer.kind == "key":
            # A did:key names its one key: another key is another DID, under the same issuer.
            return data_integrity.add_proof(
                issuer.credential(),
                ed25519(stranger),
                f"{issuer.did}#{keys.public_multibase(ed25519(stranger).public_key())}",
                CREATED,
            )
        return sign(key=stranger)
    signed = sign()
    if case == "tampered":
        if isinstance(signed, str):
            header, payload, signature = signed.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claims["name"] = "Writer"
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"{header}.{body}.{signature}"
        signed["name"] = "Writer"
    return signed


_STRANGER_RSA = keys.generate(keys.KeyType.RSA)
