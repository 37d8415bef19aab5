"""A system's did:web and DID document; reading did:key, did:jwk and did:web as a verifier."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

from services.issuer.ob3 import did, keys
from services.issuer.ob3.did import InvalidDid
from services.issuer.ob3.documents import load_document
from services.issuer.ob3.keys import KeyType

SEC = "https://w3id.org/security#"
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
# The did:jwk method's own examples (github.com/quartzjer/did-jwk, spec.md).
DID_JWK_ED25519 = (
    "did:jwk:eyJraWQiOiJ1cm46aWV0ZjpwYXJhbXM6b2F1dGg6andrLXRodW1icHJpbnQ6c2hhLTI1NjpGZk1iek9qTW1RNGVm"
    "VDZrdndUSUpqZWxUcWpsMHhqRUlXUTJxb2JzUk1NIiwia3R5IjoiT0tQIiwiY3J2IjoiRWQyNTUxOSIsImFsZyI6IkVkRFNB"
    "IiwieCI6IkFOUmpIX3p4Y0tCeHNqUlBVdHpSYnA3RlNWTEtKWFE5QVBYOU1QMWo3azQifQ"
)
DID_JWK_P256 = (
    "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQ"
    "SDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
)


class TestDidWeb:
    @pytest.mark.parametrize(
        ("public_url", "expected"),
        [
            ("https://badges.example.org", "did:web:badges.example.org:public:systems:demo"),
            # the default port is the same DID, written or not
            ("https://badges.example.org:443", "did:web:badges.example.org:public:systems:demo"),
            ("https://Badges.Example.ORG/", "did:web:badges.example.org:public:systems:demo"),
            (
                "https://badges.example.org:8443",
                "did:web:badges.example.org%3A8443:public:systems:demo",
            ),
            ("https://example.org/plaudit", "did:web:example.org:plaudit:public:systems:demo"),
            ("https://example.org/a/b/", "did:web:example.org:a:b:public:systems:demo"),
            ("https://example.org:8443/a", "did:web:example.org%3A8443:a:public:systems:demo"),
            ("https://example.org/a:b", "did:web:example.org:a%3Ab:public:systems:demo"),
            # the development default
            ("http://127.0.0.1:8080", "did:web:127.0.0.1%3A8080:public:systems:demo"),
            ("http://localhost:80", "did:web:localhost:public:systems:demo"),
        ],
    )
    def test_derivation(self, public_url: str, expected: str) -> None:
        assert did.did_web(public_url, "demo") == expected

    def test_the_slug_is_the_last_segment(self) -> None:
        assert did.did_web("https://h.org", "a-b_c.d~e") == "did:web:h.org:public:systems:a-b_c.d~e"

    @pytest.mark.parametrize(
        "public_url",
        [
            "ftp://example.org",
            "https://",
            "example.org",
            "https://user:secret@example.org",
            "https://example.org/?q=1",
            "https://example.org/#top",
            "https://[::1]:8080",
            "https://example.org:99999",
        ],
    )
    def test_refuses_what_is_no_base_url(self, public_url: str) -> None:
        with pytest.raises(InvalidDid):
            did.did_web(public_url, "demo")

    @pytest.mark.parametrize(
        ("public_url", "expected"),
        [
            (
                "https://badges.example.org",
                "https://badges.example.org/public/systems/demo/did.json",
            ),
            ("https://example.org/p/", "https://example.org/p/public/systems/demo/did.json"),
        ],
    )
    def test_document_url(self, public_url: str, expected: str) -> None:
        assert did.did_document_url(public_url, "demo") == expected

    @pytest.mark.parametrize(
        "public_url",
        ["https://badges.example.org", "https://example.org:8443", "https://example.org/a/b"],
    )
    def test_resolving_the_did_finds_the_document_where_it_is_served(self, public_url: str) -> None:
        derived = did.did_web(public_url, "demo")
        assert did.did_web_document_url(derived) == did.did_document_url(public_url, "demo")

    @pytest.mark.parametrize(
        ("identifier", "url"),
        [
            # the did:web method specification's examples
            ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
            (
                "did:web:w3c-ccg.github.io:user:alice",
                "https://w3c-ccg.github.io/user/alice/did.json",
            ),
            (
                "did:web:example.com%3A3000:user:alice",
                "https://example.com:3000/user/alice/did.json",
            ),
            ("did:web:example.com:u#key-1", "https://example.com/u/did.json"),
        ],
    )
    def test_document_url_of_any_did_web(self, identifier: str, url: str) -> None:
        assert did.did_web_document_url(identifier) == url

    @pytest.mark.parametrize(
        "identifier",
        ["did:web:", "did:key:z6Mk", "did:web:a::b", "did:web:a%2Fb", "did:web:user@host"],
    )
    def test_refuses_a_malformed_did_web(self, identifier: str) -> None:
        with pytest.raises(InvalidDid):
            did.did_web_document_url(identifier)


def _document(*kinds: KeyType) -> tuple[str, list[keys.SigningKey], dict[str, Any]]:
    identifier = did.did_web("https://badges.example.org", "demo")
    signing = [keys.generate(kind) for kind in kinds]
    return (
        identifier,
        signing,
        did.did_document(identifier, [k.verification_key() for k in signing]),
    )


class TestDidDocument:
    def test_lists_every_key_for_assertions(self) -> None:
        identifier, signing, document = _document(KeyType.ED25519, KeyType.RSA, KeyType.ED25519)
        assert document["id"] == identifier
        ids = [f"{identifier}#{key.id}" for key in signing]
        assert [method["id"] for method in document["verificationMethod"]] == ids
        assert document["assertionMethod"] == ids
        assert {method["controller"] for method in document["verificationMethod"]} == {identifier}

    def test_ed25519_as_multikey_and_rsa_as_json_web_key(self) -> None:
        _, (ed25519, rsa), document = _document(KeyType.ED25519, KeyType.RSA)
        multikey, json_web_key = document["verificationMethod"]
        assert multikey["type"] == "Multikey"
        assert isinstance(ed25519.public, Ed25519PublicKey)
        assert multikey["publicKeyMultibase"] == keys.public_multibase(ed25519.public)
        assert json_web_key["type"] == "JsonWebKey"
        assert json_web_key["publicKeyJwk"] == keys.public_jwk(rsa.public)
        assert document["@context"] == [did.DID_CONTEXT, did.MULTIKEY_CONTEXT, did.JWK_CONTEXT]

    def test_names_only_the_contexts_its_keys_need(self) -> None:
        assert _document(KeyType.ED25519)[2]["@context"] == [did.DID_CONTEXT, did.MULTIKEY_CONTEXT]
        assert _document(KeyType.RSA)[2]["@context"] == [did.DID_CONTEXT, did.JWK_CONTEXT]

    def test_holds_no_private_half(self) -> None:
        _, signing, document = _document(KeyType.ED25519, KeyType.RSA)
        text = json.dumps(document)
        assert '"d"' not in text
        for key in signing:
            raw = key.private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            assert base64.b64encode(raw)[-40:].decode() not in text

    def test_every_member_is_defined_by_the_shipped_contexts(self) -> None:
        identifier, _, document = _document(KeyType.ED25519, KeyType.RSA)
        [expanded] = jsonld.expand(document, {"documentLoader": load_document})
        assert expanded["@id"] == identifier
        multikey, json_web_key = expanded[f"{SEC}verificationMethod"]
        assert multikey["@type"] == [f"{SEC}Multikey"]
        assert f"{SEC}publicKeyMultibase" in multikey
        assert json_web_key["@type"] == [f"{SEC}JsonWebKey"]
        assert json_web_key[f"{SEC}publicKeyJwk"][0]["@type"] == "@json"
        assert len(expanded[f"{SEC}assertionMethod"]) == 2

    def test_assertion_key_finds_each_listed_key(self) -> None:
        identifier, signing, document = _document(KeyType.ED25519, KeyType.RSA)
        for key in signing:
            assert did.assertion_key(document, f"{identifier}#{key.id}") == key.public

    def test_assertion_key_finds_a_method_embedded_in_assertion_method(self) -> None:
        identifier, (key,), document = _document(KeyType.ED25519)
        document["assertionMethod"] = document.pop("verificationMethod")
        assert did.assertion_key(document, f"{identifier}#{key.id}") == key.public

    def test_assertion_key_refuses_a_listed_key_not_for_assertions(self) -> None:
        identifier, (key,), document = _document(KeyType.ED25519)
        document["authentication"] = document.pop("assertionMethod")
        with pytest.raises(InvalidDid, match="not an assertion method"):
            did.assertion_key(document, f"{identifier}#{key.id}")

    def test_assertion_key_refuses_a_key_not_listed(self) -> None:
        identifier, _, document = _document(KeyType.ED25519)
        with pytest.raises(InvalidDid, match="not an assertion method"):
            did.assertion_key(document, f"{identifier}#retired")

    def test_assertion_key_refuses_a_method_of_another_did(self) -> None:
        _, (key,), document = _document(KeyType.ED25519)
        with pytest.raises(InvalidDid, match="does not belong"):
            did.assertion_key(document, f"did:web:evil.example#{key.id}")

    def test_assertion_key_refuses_a_method_someone_else_controls(self) -> None:
        identifier, (key,), document = _document(KeyType.ED25519)
        document["verificationMethod"][0]["controller"] = "did:web:evil.example"
        with pytest.raises(InvalidDid, match="not controlled"):
            did.assertion_key(document, f"{identifier}#{key.id}")


class TestOtherDids:
    def test_did_key(self) -> None:
        public = did.did_key_public_key(f"did:key:{W3C_PUBLIC}")
        assert keys.public_multibase(public) == W3C_PUBLIC

    def test_did_key_with_its_fragment(self) -> None:
        public = did.did_key_public_key(f"did:key:{W3C_PUBLIC}#{W3C_PUBLIC}")
        assert keys.public_multibase(public) == W3C_PUBLIC

    @pytest.mark.parametrize(
        "identifier",
        [
            f"did:key:{W3C_PUBLIC}#other",
            f"did:web:{W3C_PUBLIC}",
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",  # P-256
            "did:key:z6Mk",
        ],
    )
    def test_did_key_refuses_what_is_no_ed25519_did_key(self, identifier: str) -> None:
        with pytest.raises(InvalidDid):
            did.did_key_public_key(identifier)

    def test_did_jwk_ed25519(self) -> None:
        public = did.did_jwk_public_key(DID_JWK_ED25519)
        assert keys.public_jwk(public)["x"] == "ANRjH_zxcKBxsjRPUtzRbp7FSVLKJXQ9APX9MP1j7k4"

    def test_did_jwk_round_trips_our_rsa_key(self) -> None:
        key = keys.generate(KeyType.RSA)
        encoded = base64.urlsafe_b64encode(json.dumps(keys.public_jwk(key.public)).encode())
        identifier = "did:jwk:" + encoded.decode().rstrip("=")
        assert did.did_jwk_public_key(identifier + "#0") == key.public

    @pytest.mark.parametrize(
        "identifier", [DID_JWK_P256, "did:jwk:bm90IGpzb24", "did:jwk:WzFd", "did:key:abc"]
    )
    def test_did_jwk_refuses_what_it_cannot_read(self, identifier: str) -> None:
        with pytest.raises(InvalidDid):
            did.did_jwk_public_key(identifier)
