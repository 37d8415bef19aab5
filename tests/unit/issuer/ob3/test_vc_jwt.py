"""VC-JWT: the token we write, what verifying it checks, and openbadgeslib reading ours."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier

from services.issuer.ob3 import data_integrity, keys, vc_jwt
from services.issuer.ob3.vc_jwt import InvalidToken
from tests.unit.issuer.ob3 import samples

SECRET = "a shared secret long enough for HS256"
VALID_FROM = int(datetime(2025, 3, 1, 12, tzinfo=UTC).timestamp())


def private(key: keys.SigningKey) -> RSAPrivateKey:
    assert isinstance(key.private, RSAPrivateKey)
    return key.private


def public(key: keys.SigningKey) -> RSAPublicKey:
    assert isinstance(key.public, RSAPublicKey)
    return key.public


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


@pytest.fixture(scope="module")
def system() -> samples.System:
    # RSA keys take a while to make: one system serves the module.
    return samples.system(previous=[keys.generate(keys.KeyType.RSA)])


def encode(system: samples.System, credential: dict[str, Any] | None = None) -> str:
    document = credential if credential is not None else samples.credential(system.did)
    return vc_jwt.encode(document, private(system.rsa), system.method(system.rsa))


class TestEncode:
    def test_header_is_alg_kid_typ_only(self, system: samples.System) -> None:
        header, _ = parts(encode(system))
        assert header == {"alg": "RS256", "kid": system.method(system.rsa), "typ": "JWT"}

    def test_payload_is_the_credential_with_its_claims(self, system: samples.System) -> None:
        credential = samples.credential(system.did)
        _, payload = parts(encode(system, credential))
        assert payload == {
            **credential,
            "iss": system.did,
            "jti": credential["id"],
            "nbf": VALID_FROM,
        }

    def test_valid_until_is_exp(self, system: samples.System) -> None:
        credential = samples.credential(system.did, valid_until="2030-01-01T00:00:00Z")
        _, payload = parts(encode(system, credential))
        assert payload["exp"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())

    def test_a_subject_id_is_sub(self, system: samples.System) -> None:
        credential = samples.credential(system.did)
        credential["credentialSubject"]["id"] = "did:example:earner"
        _, payload = parts(encode(system, credential))
        assert payload["sub"] == "did:example:earner"

    def test_refuses_a_credential_that_carries_a_claim(self, system: samples.System) -> None:
        with pytest.raises(ValueError, match="'iss'"):
            encode(system, {**samples.credential(system.did), "iss": "did:web:evil"})

    def test_key_id(self, system: samples.System) -> None:
        assert vc_jwt.key_id(encode(system)) == system.method(system.rsa)


class TestVerify:
    def test_round_trip(self, system: samples.System) -> None:
        credential = samples.credential(system.did)
        assert vc_jwt.verify(encode(system, credential), public(system.rsa)) == credential

    def test_round_trip_with_the_data_integrity_proof_inside(self, system: samples.System) -> None:
        assert isinstance(system.ed25519.private, Ed25519PrivateKey)
        signed = data_integrity.add_proof(
            samples.credential(system.did),
            system.ed25519.private,
            system.method(system.ed25519),
            datetime(2025, 3, 1, 12, tzinfo=UTC),
        )
        assert vc_jwt.verify(encode(system, signed), public(system.rsa)) == signed

    def test_dates_are_not_judged_here(self, system: samples.System) -> None:
        expired = samples.credential(system.did, valid_until="2025-03-02T00:00:00Z")
        assert vc_jwt.verify(encode(system, expired), public(system.rsa)) == expired

    def test_a_tampered_payload_fails(self, system: samples.System) -> None:
        token = encode(system)
        header, _, signature = token.split(".")
        claims = parts(token)[1]
        claims["name"] = "Writer"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        with pytest.raises(InvalidToken, match="Signature verification failed"):
            vc_jwt.verify(f"{header}.{forged}.{signature}", public(system.rsa))

    def test_another_key_fails(self, system: samples.System) -> None:
        other = system.previous[0]
        with pytest.raises(InvalidToken, match="Signature verification failed"):
            vc_jwt.verify(encode(system), public(other))

    @pytest.mark.parametrize(("algorithm", "secret"), [("HS256", SECRET), (None, None)])
    def test_another_algorithm_fails(
        self, system: samples.System, algorithm: str | None, secret: str | None
    ) -> None:
        token = jwt.encode(parts(encode(system))[1], secret, algorithm=algorithm)
        with pytest.raises(InvalidToken, match="alg value is not allowed"):
            vc_jwt.verify(token, public(system.rsa))

    @pytest.mark.parametrize(
        ("claim", "value"),
        [
            ("iss", "did:web:evil.example"),
            ("jti", "https://badges.example.org/public/credentials/other"),
            ("nbf", VALID_FROM - 1),
            ("exp", VALID_FROM + 10),
            ("sub", "did:example:someone"),
        ],
    )
    def test_a_claim_that_contradicts_the_credential_fails(
        self, system: samples.System, claim: str, value: object
    ) -> None:
        payload = {**parts(encode(system))[1], claim: value}
        token = jwt.encode(payload, private(system.rsa), algorithm="RS256")
        with pytest.raises(InvalidToken, match=f"claim '{claim}'"):
            vc_jwt.verify(token, public(system.rsa))

    def test_a_missing_claim_fails(self, system: samples.System) -> None:
        payload = parts(encode(system))[1]
        del payload["nbf"]
        token = jwt.encode(payload, private(system.rsa), algorithm="RS256")
        with pytest.raises(InvalidToken, match="nbf"):
            vc_jwt.verify(token, public(system.rsa))

    def test_reads_the_vc_claim_of_vc_data_model_1_1(self, system: samples.System) -> None:
        credential = samples.credential(system.did)
        legacy = {k: v for k, v in credential.items() if k != "validFrom"}
        legacy["issuanceDate"] = credential["validFrom"]
        payload = {"vc": legacy, "iss": system.did, "jti": credential["id"], "nbf": VALID_FROM}
        token = jwt.encode(payload, private(system.rsa), algorithm="RS256")
        assert vc_jwt.verify(token, public(system.rsa)) == legacy

    @pytest.mark.parametrize("token", ["", "not.a.jwt", "e30.e30.", jwt.encode({}, SECRET)])
    def test_key_id_of_what_names_no_key(self, token: str) -> None:
        with pytest.raises(InvalidToken):
            vc_jwt.key_id(token)


class TestIndependentVerification:
    """openbadgeslib's VC-JWT verifier, given our DID document by its fetch hook."""

    def test_verifies_our_token(self, system: samples.System) -> None:
        verifier = OB3Verifier.for_issuer_did(system.did, download=system.fetch())
        credential = verifier.verify(encode(system))
        assert credential.issuer.id == system.did

    def test_verifies_our_token_holding_the_data_integrity_proof(
        self, system: samples.System
    ) -> None:
        assert isinstance(system.ed25519.private, Ed25519PrivateKey)
        signed = data_integrity.add_proof(
            samples.credential(system.did),
            system.ed25519.private,
            system.method(system.ed25519),
            datetime(2025, 3, 1, 12, tzinfo=UTC),
        )
        verifier = OB3Verifier.for_issuer_did(system.did, download=system.fetch())
        verifier.verify(encode(system, signed))

    def test_verifies_one_signed_with_a_previous_key(self, system: samples.System) -> None:
        previous = system.previous[0]
        token = vc_jwt.encode(
            samples.credential(system.did), private(previous), system.method(previous)
        )
        OB3Verifier.for_issuer_did(system.did, download=system.fetch()).verify(token)

    def test_refuses_a_token_signed_by_a_key_not_listed(self, system: samples.System) -> None:
        stranger = keys.generate(keys.KeyType.RSA)
        token = vc_jwt.encode(
            samples.credential(system.did), private(stranger), system.method(stranger)
        )
        verifier = OB3Verifier.for_issuer_did(system.did, download=system.fetch())
        with pytest.raises(OB3VerificationError, match="no verificationMethod"):
            verifier.verify(token)
