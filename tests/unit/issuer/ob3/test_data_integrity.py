"""eddsa-rdfc-2022 Data Integrity proofs: the W3C test vector byte for byte, round trips, what
breaks a proof, and an independent verifier (openbadgeslib) reading ours."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from openbadgeslib.ob3 import OB3LdpVerifier, OB3VerificationError

from services.issuer.ob3 import base58, data_integrity, did, keys
from services.issuer.ob3.data_integrity import InvalidProof, UndefinedTerm
from services.issuer.ob3.documents import UnknownDocument
from tests.unit.issuer.ob3 import samples

VECTORS = Path(__file__).parent / "vectors" / "vc-di-eddsa"
CREATED = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


def vector(name: str) -> Any:
    text = (VECTORS / name).read_text()
    return json.loads(text) if name.endswith(".json") else text


def vector_key() -> Ed25519PrivateKey:
    secret = base58.decode_multibase(vector("key-pair.json")["privateKeyMultibase"])
    return Ed25519PrivateKey.from_private_bytes(secret[2:])


class TestW3cVector:
    """W3C vc-di-eddsa B.1, eddsa-rdfc-2022 (vectors/vc-di-eddsa/README.md)."""

    def test_canonical_document(self) -> None:
        canonical = data_integrity.canonicalize(vector("unsecured.json"))
        assert canonical == vector("canonical-document.nq")

    def test_canonical_proof_options(self) -> None:
        canonical = data_integrity.canonicalize(vector("proof-options.json"))
        assert canonical == vector("canonical-proof-options.nq")

    def test_hash_data(self) -> None:
        options = vector("proof-options.json")
        options.pop("@context")
        data = data_integrity.hash_data(vector("unsecured.json"), options)
        expected = vector("expected.json")
        assert data.hex() == expected["hashData"]
        assert data[:32].hex() == expected["proofOptionsHash"]
        assert data[32:].hex() == expected["documentHash"]

    def test_proof_value_from_the_published_key(self) -> None:
        options = vector("proof-options.json")
        created = datetime.fromisoformat(options["created"])
        signed = data_integrity.add_proof(
            vector("unsecured.json"), vector_key(), options["verificationMethod"], created
        )
        expected = vector("expected.json")
        signature = base58.decode_multibase(signed["proof"]["proofValue"])
        assert signature.hex() == expected["signature"]
        assert signed["proof"]["proofValue"] == expected["proofValue"]
        assert signed == vector("signed.json")

    def test_the_published_credential_verifies(self) -> None:
        signed = vector("signed.json")
        method = data_integrity.proof_of(signed)["verificationMethod"]
        data_integrity.verify_proof(signed, did.did_key_public_key(method))


@pytest.fixture
def key() -> keys.SigningKey:
    return keys.generate(keys.KeyType.ED25519)


def sign(key: keys.SigningKey, document: dict[str, Any] | None = None) -> dict[str, Any]:
    assert isinstance(key.private, Ed25519PrivateKey)
    issuer = did.did_web(samples.PUBLIC_URL, samples.SYSTEM)
    unsecured = document if document is not None else samples.credential(issuer)
    method = did.verification_method_id(issuer, key.id)
    return data_integrity.add_proof(unsecured, key.private, method, CREATED)


def public(key: keys.SigningKey) -> Ed25519PublicKey:
    assert isinstance(key.public, Ed25519PublicKey)
    return key.public


class TestSignThenVerify:
    def test_round_trip(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        data_integrity.verify_proof(signed, public(key))

    def test_the_proof(self, key: keys.SigningKey) -> None:
        proof = sign(key)["proof"]
        assert proof == {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2025-03-01T12:00:05Z",
            "verificationMethod": f"{did.did_web(samples.PUBLIC_URL, 'demo')}#{key.id}",
            "proofPurpose": "assertionMethod",
            "proofValue": proof["proofValue"],
        }
        assert len(base58.decode_multibase(proof["proofValue"])) == 64

    def test_leaves_the_document_as_it_was(self, key: keys.SigningKey) -> None:
        document = samples.credential("did:web:badges.example.org:public:systems:demo")
        before = copy.deepcopy(document)
        sign(key, document)
        assert document == before

    def test_the_order_of_json_members_does_not_matter(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        reordered = json.loads(json.dumps(signed, sort_keys=True))
        data_integrity.verify_proof(dict(reversed(list(reordered.items()))), public(key))

    def test_refuses_a_document_that_has_a_proof(self, key: keys.SigningKey) -> None:
        with pytest.raises(ValueError, match="already"):
            sign(key, sign(key))

    def test_refuses_a_naive_time(self, key: keys.SigningKey) -> None:
        assert isinstance(key.private, Ed25519PrivateKey)
        with pytest.raises(ValueError, match="timezone"):
            data_integrity.add_proof({}, key.private, "did:x#k", datetime(2025, 1, 1))

    def test_refuses_a_member_no_context_defines(self, key: keys.SigningKey) -> None:
        document = {**samples.credential("did:web:x"), "colour": "blue"}
        with pytest.raises(UndefinedTerm, match="'colour'"):
            sign(key, document)

    def test_refuses_a_context_that_is_not_shipped(self, key: keys.SigningKey) -> None:
        document = {**samples.credential("did:web:x"), "@context": ["https://example.org/ctx"]}
        with pytest.raises(UnknownDocument, match=r"example\.org/ctx"):
            sign(key, document)


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for name in parents:
        document = document[int(name)] if isinstance(document, list) else document[name]
    document[last] = value


class TestTampering:
    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ("name", "Writer"),
            ("validFrom", "2025-03-01T12:00:01Z"),
            ("issuer.id", "did:web:evil.example"),
            ("credentialSubject.achievement.name", "Writer"),
            ("credentialSubject.identifier.0.identityHash", "sha256$00"),
            ("credentialSubject.identifier.0.hashed", False),
            ("validUntil", "2099-01-01T00:00:00Z"),
        ],
    )
    def test_a_changed_field_fails(self, key: keys.SigningKey, path: str, value: Any) -> None:
        signed = sign(key)
        _set(signed, path, value)
        with pytest.raises(InvalidProof, match="signature does not match"):
            data_integrity.verify_proof(signed, public(key))

    @pytest.mark.parametrize("path", ["favouriteColour", "credentialSubject.achievement.level"])
    def test_an_added_undefined_member_fails(self, key: keys.SigningKey, path: str) -> None:
        """JSON-LD would drop it, so the signature alone could not see it (safe mode)."""
        signed = sign(key)
        _set(signed, path, "blue")
        with pytest.raises(InvalidProof, match="defined by none of the document's contexts"):
            data_integrity.verify_proof(signed, public(key))

    def test_a_removed_field_fails(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        del signed["credentialSubject"]["achievement"]["criteria"]
        with pytest.raises(InvalidProof, match="signature does not match"):
            data_integrity.verify_proof(signed, public(key))

    def test_another_key_fails(self, key: keys.SigningKey) -> None:
        other = keys.generate(keys.KeyType.ED25519)
        with pytest.raises(InvalidProof, match="signature does not match"):
            data_integrity.verify_proof(sign(key), public(other))

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("created", "2025-03-01T12:00:06Z"),
            ("verificationMethod", "did:web:badges.example.org:public:systems:demo#other"),
            ("expires", "2099-01-01T00:00:00Z"),
        ],
    )
    def test_a_changed_proof_field_fails(
        self, key: keys.SigningKey, field: str, value: str
    ) -> None:
        signed = sign(key)
        signed["proof"][field] = value
        with pytest.raises(InvalidProof, match="signature does not match"):
            data_integrity.verify_proof(signed, public(key))

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("proofPurpose", "authentication", "proofPurpose"),
            ("cryptosuite", "eddsa-jcs-2022", "expected one DataIntegrityProof"),
            ("type", "Ed25519Signature2020", "expected one DataIntegrityProof"),
            ("proofValue", "u" + "A" * 86, "proofValue"),
            ("proofValue", "z3", "64-byte"),
            ("proofValue", 42, "proofValue"),
            ("@context", ["https://www.w3.org/ns/credentials/v2"], "another @context"),
        ],
    )
    def test_a_malformed_proof_fails(
        self, key: keys.SigningKey, field: str, value: Any, message: str
    ) -> None:
        signed = sign(key)
        signed["proof"][field] = value
        with pytest.raises(InvalidProof, match=message):
            data_integrity.verify_proof(signed, public(key))

    def test_a_flipped_signature_bit_fails(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        signature = bytearray(base58.decode_multibase(signed["proof"]["proofValue"]))
        signature[10] ^= 1
        signed["proof"]["proofValue"] = base58.encode_multibase(bytes(signature))
        with pytest.raises(InvalidProof, match="signature does not match"):
            data_integrity.verify_proof(signed, public(key))

    def test_a_context_swapped_for_an_unshipped_one_fails(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        signed["@context"] = [signed["@context"][0], "https://example.org/ob.json"]
        with pytest.raises(InvalidProof, match="cannot be canonicalised"):
            data_integrity.verify_proof(signed, public(key))

    def test_a_second_proof_of_ours_is_ambiguous(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        signed["proof"] = [signed["proof"], signed["proof"]]
        with pytest.raises(InvalidProof, match="expected one"):
            data_integrity.verify_proof(signed, public(key))

    def test_a_foreign_proof_beside_ours_is_ignored(self, key: keys.SigningKey) -> None:
        signed = sign(key)
        signed["proof"] = [{"type": "Ed25519Signature2020"}, signed["proof"]]
        # The proof set is a member of the document only as the proofs themselves.
        data_integrity.verify_proof(signed, public(key))


class TestIndependentVerification:
    """openbadgeslib's Data Integrity verifier, given our DID document by its fetch hook."""

    def test_verifies_our_credential(self) -> None:
        system = samples.system()
        signed = sign_as(system, system.ed25519)
        credential = OB3LdpVerifier.for_issuer_did(system.did).verify(
            signed, download=system.fetch()
        )
        assert credential.issuer.id == system.did

    def test_verifies_one_signed_with_a_previous_key(self) -> None:
        previous = keys.generate(keys.KeyType.ED25519)
        system = samples.system(previous=[previous])
        signed = sign_as(system, previous)
        OB3LdpVerifier.for_issuer_did(system.did).verify(signed, download=system.fetch())

    def test_refuses_it_tampered(self) -> None:
        system = samples.system()
        signed = sign_as(system, system.ed25519)
        signed["name"] = "Writer"
        with pytest.raises(OB3VerificationError, match="signature mismatch"):
            OB3LdpVerifier.for_issuer_did(system.did).verify(signed, download=system.fetch())

    def test_refuses_it_signed_with_a_key_the_document_does_not_list(self) -> None:
        system = samples.system()
        signed = sign_as(system, keys.generate(keys.KeyType.ED25519))
        with pytest.raises(OB3VerificationError, match="no verificationMethod"):
            OB3LdpVerifier.for_issuer_did(system.did).verify(signed, download=system.fetch())


def sign_as(system: samples.System, key: keys.SigningKey) -> dict[str, Any]:
    assert isinstance(key.private, Ed25519PrivateKey)
    document = samples.credential(system.did)
    return data_integrity.add_proof(document, key.private, system.method(key), CREATED)
