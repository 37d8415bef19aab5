"""The systems' signing keys as the issuer uses them: an Ed25519 key (Data Integrity proofs)
and an RSA key (VC-JWT) per system, created on first use, rotated and retired on request.

Private halves are stored sealed (`keys.seal`, PLAUDIT_ENCRYPTION_KEY) and unsealed here, once
per process and key: a key's id names its material for good, so the cache by id is exact.
Which keys are current is read from Postgres on every use, so a rotation made by any process
takes effect everywhere at its commit."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from services.issuer.ob3 import did, keys
from services.issuer.repository.signing_keys import SigningKeys
from shared.crypto import SecretBox

log = structlog.get_logger()

# Unsealed keys kept per process: two per system in use, and a few previous ones.
CACHED_KEYS = 4096


@dataclass(frozen=True, slots=True)
class CurrentKeys:
    """A system's current signing keys, with their verification method ids under its DID."""

    did: str
    ed25519: keys.SigningKey
    rsa: keys.SigningKey

    @property
    def proof_key(self) -> Ed25519PrivateKey:
        assert isinstance(self.ed25519.private, Ed25519PrivateKey)
        return self.ed25519.private

    @property
    def proof_method(self) -> str:
        return did.verification_method_id(self.did, self.ed25519.id)

    @property
    def jwt_key(self) -> RSAPrivateKey:
        assert isinstance(self.rsa.private, RSAPrivateKey)
        return self.rsa.private

    @property
    def jwt_kid(self) -> str:
        return did.verification_method_id(self.did, self.rsa.id)


def shown_key(row: dict[str, Any]) -> dict[str, Any]:
    """A key as the API shows it: never its private half."""
    return {
        "id": row["id"],
        "type": row["type"],
        "status": row["status"],
        "createdAt": row["created_at"].isoformat(),
        "publicKey": row["public_key"],
    }


def did_document(system_did: str, published: list[dict[str, Any]]) -> dict[str, Any]:
    """The DID document of a system from its published keys (current and previous)."""
    verification_keys = [
        keys.VerificationKey(row["id"], keys.public_key_from_jwk(row["public_key"]))
        for row in published
    ]
    return did.did_document(system_did, verification_keys)


class Keyring:
    def __init__(self, box: SecretBox, public_url: str) -> None:
        self._box = box
        self._public_url = public_url
        self._unsealed: OrderedDict[str, keys.SigningKey] = OrderedDict()

    def did(self, system: str) -> str:
        """The system's DID (`did:web`, from PUBLIC_URL and its slug)."""
        return did.did_web(self._public_url, system)

    async def current(self, repo: SigningKeys, system_id: int, system: str) -> CurrentKeys:
        """The system's current keys, creating what it lacks (its first credential)."""
        rows = await repo.current(system_id)
        if len(rows) < len(keys.KeyType):
            await self.create(repo, system_id, system, {row["type"] for row in rows})
            rows = await repo.current(system_id)
        found = {row["type"]: self._unseal(row) for row in rows}
        ed25519, rsa = found[keys.KeyType.ED25519], found[keys.KeyType.RSA]
        return CurrentKeys(self.did(system), ed25519, rsa)

    async def create(
        self, repo: SigningKeys, system_id: int, system: str, existing: set[str]
    ) -> None:
        """A new current key of each type the system does not have (`existing`). Should another
        process create one at the same moment, its key stays and this one is dropped."""
        for kind in keys.KeyType:
            if kind.value in existing:
                continue
            # RSA key generation takes tens of milliseconds: off the event loop.
            key = await asyncio.to_thread(keys.generate, kind)
            public = keys.public_jwk(key.public)
            sealed = keys.seal(key, self._box)
            if await repo.add_current(system_id, system, key.id, kind.value, sealed, public):
                log.info("signing_key.created", system_id=system_id, key_id=key.id, type=kind.value)

    async def rotate(self, repo: SigningKeys, system_id: int, system: str) -> None:
        """New current keys of each type; the old ones become previous and keep verifying."""
        await repo.demote_current(system_id)
        await self.create(repo, system_id, system, set())

    def _unseal(self, row: dict[str, Any]) -> keys.SigningKey:
        key = self._unsealed.get(row["id"])
        if key is None:
            key = keys.unseal(row["id"], row["sealed"], self._box)
            self._unsealed[row["id"]] = key
            if len(self._unsealed) > CACHED_KEYS:
                self._unsealed.popitem(last=False)
        else:
            self._unsealed.move_to_end(row["id"])
        return key
