"""What the OB 3.0 tests sign: a minimal valid OpenBadgeCredential of the shape DESIGN.md fixes
(the real builder is elsewhere), a system's keys and DID document, and a stand-in for the
network that serves only that document, as an independent verifier's fetch hook."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.issuer.ob3 import did, keys

PUBLIC_URL = "https://badges.example.org"
SYSTEM = "demo"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EMAIL = "reader@example.org"
SALT = "Q2kSv0lq5Pg"


def credential(issuer_did: str, *, valid_until: str | None = None) -> dict[str, Any]:
    identity = "sha256$" + hashlib.sha256((EMAIL + SALT).encode()).hexdigest()
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"{PUBLIC_URL}/public/credentials/4kq7z2",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Reader",
        "issuer": {"id": issuer_did, "type": ["Profile"], "name": "Demo"},
        "validFrom": "2025-03-01T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": identity,
                    "salt": SALT,
                }
            ],
            "achievement": {
                "id": f"{PUBLIC_URL}/public/systems/{SYSTEM}/badges/reader",
                "type": ["Achievement"],
                "name": "Reader",
                "description": "Read a book and told us about it.",
                "criteria": {"narrative": "Read one book."},
            },
        },
    }
    if valid_until is not None:
        document["validUntil"] = valid_until
    return document


@dataclass(frozen=True)
class System:
    did: str
    ed25519: keys.SigningKey
    rsa: keys.SigningKey
    # Keys still listed in the DID document besides the current ones (rotated, not retired).
    previous: Sequence[keys.SigningKey] = ()

    def method(self, key: keys.SigningKey) -> str:
        return did.verification_method_id(self.did, key.id)

    def document(self) -> dict[str, Any]:
        listed = [self.ed25519, self.rsa, *self.previous]
        return did.did_document(self.did, [key.verification_key() for key in listed])

    def fetch(self) -> Callable[..., bytes]:
        """A download hook that answers the DID document's URL and fails every other."""
        url = did.did_web_document_url(self.did)
        body = json.dumps(self.document()).encode()

        def download(requested: str, *args: object, **kwargs: object) -> bytes:
            if requested != url:
                raise OSError(f"no network in tests: {requested}")
            return body

        return download


def system(previous: Sequence[keys.SigningKey] = ()) -> System:
    return System(
        did.did_web(PUBLIC_URL, SYSTEM),
        keys.generate(keys.KeyType.ED25519),
        keys.generate(keys.KeyType.RSA),
        previous,
    )
