"""The report of `POST /public/verify` (`services.issuer.ob3.report`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.gateway.responses.envelopes import Shown

_DID = "did:web:badges.example.org:public:systems:city-library"
_CHECKS = [
    {"check": "structure", "outcome": "passed", "message": "an OpenBadgeCredential"},
    {"check": "schema", "outcome": "passed", "message": "valid against the OB 3.0 schema"},
    {
        "check": "proof",
        "outcome": "failed",
        "message": "signature does not match: the credential was changed after signing",
    },
    {"check": "issuer", "outcome": "skipped", "message": "skipped: the proof did not verify"},
    {"check": "status", "outcome": "skipped", "message": "skipped: the proof did not verify"},
    {"check": "validity", "outcome": "skipped", "message": "skipped: the proof did not verify"},
]


class Named(Shown):
    id: str | None = Field(examples=[_DID])
    name: str | None = Field(examples=["City Library"])


class Claimed(Shown):
    """What the credential says of itself: trusted only as far as the checks passed."""

    issuer: Named
    achievement: Named
    valid_from: str | None = Field(examples=["2025-03-01T12:00:00Z"])
    valid_until: str | None = Field(examples=[None])


class Check(Shown):
    check: Literal["structure", "schema", "proof", "issuer", "status", "validity"]
    outcome: Literal["passed", "failed", "warning", "skipped"]
    message: str = Field(
        examples=["signature does not match: the credential was changed after signing"]
    )


class VerificationReport(Shown):
    """`verified` is true when the proof verified and no check failed (a warning does not)."""

    verified: bool
    kind: Literal["ob3-ldp", "ob3-jwt", "ob2-hosted"]
    credential: Claimed
    checks: list[Check] = Field(min_length=6, max_length=6, examples=[_CHECKS])
