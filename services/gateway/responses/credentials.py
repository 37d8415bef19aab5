"""Open Campus settings and credentials (`services.issuer.domain`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from services.gateway.responses.awards import CredentialStatus
from services.gateway.responses.envelopes import Shown, omitted


class OpenCampusSettings(Shown):
    configured: bool = Field(examples=[True], description="Whether the system has its own key")
    api_key_last4: str | None = Field(examples=["9f3a"])


class CredentialAttempt(Shown):
    at: datetime = Field(examples=["2024-05-01T12:00:01+00:00"])
    status_code: int | None = Field(examples=[200], description="null: no answer")
    duration_ms: int = Field(examples=[182])
    outcome: str = Field(examples=["issued"])


class Credential(Shown):
    """An OCA or OCB, never with the recipient's name or email."""

    id: str = Field(examples=["0b6f3f56-4a0e-4b7e-9d59-0f1d2f0c9a11"])
    issuer_reference_id: str = Field(examples=["plaudit:0b6f3f56-4a0e-4b7e-9d59-0f1d2f0c9a11"])
    kind: Literal["OCA", "OCB"] = Field(examples=["OCA"])
    status: CredentialStatus = Field(examples=["issued"])
    holder_oc_id: str | None = omitted("One of holderOcId and holderAddress", examples=["bob.edu"])
    holder_address: str | None = omitted("One of holderOcId and holderAddress")
    vc_id: str | None = Field(examples=["urn:uuid:5d7f3f3e-1c2b-4e53-b8a6-5b1c3d4e5f60"])
    error: Any = Field(examples=[None], description="What Open Campus answered, once failed")
    attempts: list[CredentialAttempt]
    created_at: datetime = Field(examples=["2024-05-01T12:00:00+00:00"])
    updated_at: datetime = Field(examples=["2024-05-01T12:00:01+00:00"])
    award_uid: str | None = omitted("Only for an award's credential")


class AcceptedCredential(Shown):
    """A new credential, on its way to Open Campus."""

    id: str = Field(examples=["0b6f3f56-4a0e-4b7e-9d59-0f1d2f0c9a11"])
    issuer_reference_id: str = Field(examples=["course-42-learner-7"])
    status: CredentialStatus = Field(examples=["pending"])
