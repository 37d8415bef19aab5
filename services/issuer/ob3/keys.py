"""A system's signing keys: Ed25519 for Data Integrity proofs (`eddsa-rdfc-2022`), RSA-2048 for
VC-JWT (`RS256`, the one algorithm every OB 3.0 verifier must accept).

Public halves are published in the system's DID document, an Ed25519 key as a Multikey
(`publicKeyMultibase`), an RSA key as a JWK. A private half leaves this module only sealed with
the SecretBox (`PLAUDIT_ENCRYPTION_KEY`), and no repr, log or message ever shows one.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.issuer.ob3 import base58
from shared.crypto import SecretBox

PublicKey = Ed25519PublicKey | rsa.RSAPublicKey
PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey

RSA_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
# A verifier accepts no RSA key weaker than the ones we make.
RSA_MIN_BITS = 2048
# 16 url-safe characters: 96 random bits, so a system's key ids never collide in practice and
# are safe as a URL fragment (`<did>#<key id>`).
KEY_ID_BYTES = 12
# The multicodec code of an Ed25519 public key (0xed) as an unsigned varint.
ED25519_MULTICODEC = b"\xed\x01"
ED25519_KEY_BYTES = 32


class KeyType(StrEnum):
    ED25519 = "Ed25519"
    RSA = "RSA"


def key_type(key: PublicKey | PrivateKey) -> KeyType:
    if isinstance(key, Ed25519PublicKey | Ed25519PrivateKey):
        return KeyType.ED25519
    return KeyType.RSA


def new_key_id() -> str:
    return secrets.token_urlsafe(KEY_ID_BYTES)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """The public half of a signing key, under the key's id."""

    id: str
    public: PublicKey

    @property
    def type(self) -> KeyType:
        return key_type(self.public)


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    private: PrivateKey = field(repr=False)

    def __repr__(self) -> str:
        return f"SigningKey(id={self.id!r}, type={self.type.value})"

    @property
    def type(self) -> KeyType:
        return key_type(self.private)

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()

    def verification_key(self) -> VerificationKey:
        return VerificationKey(self.id, self.public)


def generate(kind: KeyType, key_id: str | None = None) -> SigningKey:
    private: PrivateKey
    if kind is KeyType.ED25519:
        private = Ed25519PrivateKey.generate()
    else:
        private = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_BITS)
    return SigningKey(key_id or new_key_id(), private)


def seal(key: SigningKey, box: SecretBox) -> str:
    """The private half for storage: PKCS #8 PEM, encrypted with the SecretBox."""
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return box.encrypt(pem.decode("ascii"))


def unseal(key_id: str, sealed: str, box: SecretBox) -> SigningKey:
    private = serialization.load_pem_private_key(box.decrypt(sealed).encode("ascii"), None)
    if not isinstance(private, Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"signing key {key_id} is neither Ed25519 nor RSA")
    return SigningKey(key_id, private)


def public_multibase(key: Ed25519PublicKey) -> str:
    """A Multikey `publicKeyMultibase`: `z` + base58btc(0xed01 + the 32 key bytes), `z6Mk…`."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base58.encode_multibase(ED25519_MULTICODEC + raw)


def ed25519_from_multibase(value: str) -> Ed25519PublicKey:
    data = base58.decode_multibase(value)
    if not data.startswith(ED25519_MULTICODEC):
        raise ValueError("not an Ed25519 Multikey (multicodec 0xed01)")
    raw = data[len(ED25519_MULTICODEC) :]
    if len(raw) != ED25519_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {ED25519_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def public_jwk(key: PublicKey) -> dict[str, str]:
    """RFC 7517 public JWK: RSA `{kty, n, e}`, Ed25519 `{kty: OKP, crv: Ed25519, x}` (RFC 8037)."""
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    numbers = key.public_numbers()
    return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    if "d" in jwk:
        raise ValueError("a public JWK must not carry a private key ('d')")
    try:
        if jwk.get("kty") == "RSA":
            n = int.from_bytes(_b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(_b64url_decode(jwk["e"]), "big")
            if n.bit_length() < RSA_MIN_BITS:
                raise ValueError(f"an RSA key of fewer than {RSA_MIN_BITS} bits is refused")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"malformed JWK: {error!r}") from None
    raise ValueError("only RSA and Ed25519 (OKP) JWKs are supported")
