"""Signing keys: generating them, publishing their public halves, storing their private halves."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.issuer.ob3 import base58, keys
from services.issuer.ob3.keys import KeyType
from shared.crypto import SecretBox

# The W3C vc-di-eddsa key pair (vectors/vc-di-eddsa/key-pair.json).
W3C_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
# RFC 8037 appendix A.1: an Ed25519 key as a JWK.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"


def w3c_private_key() -> Ed25519PrivateKey:
    secret = base58.decode_multibase(W3C_SECRET)
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519PrivateKey.from_private_bytes(secret[2:])


class TestGenerate:
    def test_ed25519(self) -> None:
        key = keys.generate(KeyType.ED25519)
        assert key.type is KeyType.ED25519
        assert isinstance(key.public, Ed25519PublicKey)

    def test_rsa_2048(self) -> None:
        key = keys.generate(KeyType.RSA)
        assert key.type is KeyType.RSA
        assert isinstance(key.private, rsa.RSAPrivateKey)
        assert key.private.key_size == 2048
        assert key.private.public_key().public_numbers().e == 65537

    def test_key_ids_are_short_random_and_url_safe(self) -> None:
        ids = {keys.generate(KeyType.ED25519).id for _ in range(20)}
        assert len(ids) == 20
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", key_id) for key_id in ids)

    def test_a_key_id_can_be_given(self) -> None:
        assert keys.generate(KeyType.ED25519, "k1").id == "k1"

    def test_the_verification_key_is_the_public_half(self) -> None:
        key = keys.generate(KeyType.ED25519)
        assert key.verification_key().id == key.id
        assert key.verification_key().type is KeyType.ED25519


class TestMultikey:
    def test_the_w3c_key_pair(self) -> None:
        assert keys.public_multibase(w3c_private_key().public_key()) == W3C_PUBLIC

    def test_round_trip(self) -> None:
        public = Ed25519PrivateKey.generate().public_key()
        encoded = keys.public_multibase(public)
        assert encoded.startswith("z6Mk")
        assert keys.ed25519_from_multibase(encoded) == public

    def test_refuses_another_multicodec(self) -> None:
        # 0x1200 is a P-256 public key
        with pytest.raises(ValueError, match="0xed01"):
            keys.ed25519_from_multibase(base58.encode_multibase(b"\x80\x24" + b"\x02" * 33))

    def test_refuses_a_short_key(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            keys.ed25519_from_multibase(base58.encode_multibase(b"\xed\x01" + b"\x01" * 31))


class TestJwk:
    def test_rsa_public_jwk_has_only_kty_n_e(self) -> None:
        key = keys.generate(KeyType.RSA)
        jwk = keys.public_jwk(key.public)
        assert set(jwk) == {"kty", "n", "e"}
        assert jwk["kty"] == "RSA"
        assert jwk["e"] == "AQAB"
        assert keys.public_key_from_jwk(jwk) == key.public

    def test_ed25519_public_jwk_rfc_8037(self) -> None:
        private = Ed25519PrivateKey.from_private_bytes(keys._b64url_decode(RFC8037_D))
        jwk = keys.public_jwk(private.public_key())
        assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
        assert keys.public_key_from_jwk(jwk) == private.public_key()

    def test_refuses_a_jwk_with_a_private_key(self) -> None:
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "d": RFC8037_D}
        with pytest.raises(ValueError, match="'d'"):
            keys.public_key_from_jwk(jwk)

    def test_refuses_a_weak_rsa_key(self) -> None:
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with pytest.raises(ValueError, match="fewer than 2048 bits"):
            keys.public_key_from_jwk(keys.public_jwk(weak.public_key()))

    @pytest.mark.parametrize(
        "jwk",
        [
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        ],
    )
    def test_refuses_what_it_cannot_read(self, jwk: dict[str, str]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 (each case fails on its own check)
            keys.public_key_from_jwk(jwk)


class TestStorage:
    @pytest.mark.parametrize("kind", list(KeyType))
    def test_seal_unseal_round_trip(self, kind: KeyType) -> None:
        box = SecretBox(["first key"])
        key = keys.generate(kind)
        sealed = keys.seal(key, box)
        assert "PRIVATE KEY" not in sealed
        again = keys.unseal(key.id, sealed, box)
        assert again.id == key.id
        assert again.public == key.public

    def test_sealed_with_an_old_encryption_key_still_opens_after_rotation(self) -> None:
        key = keys.generate(KeyType.ED25519)
        sealed = keys.seal(key, SecretBox(["old"]))
        assert keys.unseal(key.id, sealed, SecretBox(["new", "old"])).public == key.public

    def test_another_encryption_key_cannot_open_it(self) -> None:
        key = keys.generate(KeyType.ED25519)
        sealed = keys.seal(key, SecretBox(["mine"]))
        with pytest.raises(ValueError, match="cannot be decrypted"):
            keys.unseal(key.id, sealed, SecretBox(["theirs"]))

    @pytest.mark.parametrize("kind", list(KeyType))
    def test_repr_shows_no_secret(self, kind: KeyType) -> None:
        key = keys.generate(kind)
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        body = "".join(pem.splitlines()[1:-1])
        assert repr(key) == f"SigningKey(id={key.id!r}, type={kind.value})"
        assert str(key) == f"{key}" == repr(key)
        assert body[:24] not in repr([key])
