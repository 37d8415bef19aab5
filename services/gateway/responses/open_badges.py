"""Open Badges 3.0 (`services.issuer`): the systems' signing keys, and the signed public
documents (credentials, DID documents, status lists), which are JSON-LD or JWTs rather than
BadgeKit-style objects and so are described as raw content."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from services.gateway.responses.envelopes import Shown
from services.gateway.routes import Raw
from shared.public_urls import DID_JSON, JSON_LD, VC_JWT


class SigningKey(Shown):
    """A signing key of the system: its public half only, as a JWK."""

    id: str = Field(examples=["kLx0u1o5VJ3bT3rG"])
    type: Literal["Ed25519", "RSA"] = Field(examples=["Ed25519"])
    status: Literal["current", "previous", "retired"] = Field(examples=["current"])
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    public_key: dict[str, str] = Field(
        examples=[
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]
    )


class SigningKeys(Shown):
    keys: list[SigningKey]


class UpdatedSigningKeys(SigningKeys):
    status: Literal["updated"]


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_URI = {"type": "string", "format": "uri"}
_TYPES = {"type": "array", "items": {"type": "string"}}
_CONTEXT = {"type": "array", "items": {"type": "string"}}
_PROOF = _object(
    ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"],
    {
        "type": {"const": "DataIntegrityProof"},
        "cryptosuite": {"const": "eddsa-rdfc-2022"},
        "verificationMethod": {"type": "string"},
        "proofPurpose": {"const": "assertionMethod"},
        "proofValue": {"type": "string"},
    },
)

CREDENTIAL = Raw(
    JSON_LD,
    _object(
        ["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "proof"],
        {
            "@context": _CONTEXT,
            "id": _URI,
            "type": _TYPES,
            "issuer": _object(["id", "type", "name"], {"id": {"type": "string"}}),
            "validFrom": {"type": "string", "format": "date-time"},
            "validUntil": {"type": "string", "format": "date-time"},
            "credentialSubject": {"type": "object"},
            "credentialStatus": {"type": "object"},
            "proof": {"type": "array", "items": _PROOF, "minItems": 1},
        },
    ),
)
CREDENTIAL_JWT = Raw(
    VC_JWT, {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"}
)
DID_DOCUMENT = Raw(
    DID_JSON,
    _object(
        ["@context", "id", "verificationMethod", "assertionMethod"],
        {
            "@context": _CONTEXT,
            "id": {"type": "string", "pattern": "^did:web:"},
            "verificationMethod": {"type": "array", "items": {"type": "object"}},
            "assertionMethod": {"type": "array", "items": {"type": "string"}},
        },
    ),
)
STATUS_LIST = Raw(
    JSON_LD,
    _object(
        ["@context", "id", "type", "issuer", "credentialSubject", "proof"],
        {
            "@context": _CONTEXT,
            "id": _URI,
            "type": _TYPES,
            "issuer": {"type": "string"},
            "credentialSubject": _object(
                ["type", "statusPurpose", "encodedList"],
                {"type": {"const": "BitstringStatusList"}, "encodedList": {"type": "string"}},
            ),
            "proof": {"type": "array", "items": _PROOF, "minItems": 1},
        },
    ),
)
