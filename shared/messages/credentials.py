"""Open Campus credentials (OCA/OCB): requests the issuer service answers, the commands the
badges service sends it through its outbox, and the events the issuer emits."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from shared.messages.base import Command, Event, Query
from shared.messages.fields import Fields, Page
from shared.opencampus import AchievementType

CredentialStatus = Literal["pending", "issued", "failed", "cancelled"]


class CredentialSpec(Fields):
    """A badge's `credential`: awarding the badge issues this OCA or OCB."""

    kind: Literal["OCA", "OCB"]
    achievement_type: AchievementType
    collection_symbol: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _symbol_for_ocb_only(self) -> Self:
        if self.kind == "OCA" and self.collection_symbol is not None:
            raise PydanticCustomError("ocb_only", "collectionSymbol is for an OCB only")
        if self.kind == "OCB" and self.collection_symbol is None:
            object.__setattr__(self, "collection_symbol", "ocbadge")
        return self


class RequestCredential(Command):
    """`POST /systems/:s/credentials`: `body` is the Open Campus body, validated already."""

    TYPE = "issuer.request_credential"
    system_id: int
    system: str
    body: dict[str, Any]


class GetCredential(Query):
    TYPE = "issuer.get_credential"
    system_id: int
    id: str


class HoldsCredential(Query):
    """Whether an award of the system holds this credential id: the gateway asks when the
    issuer does not know the id yet (the award's `issuer.issue_credential` is on its way)."""

    TYPE = "badges.holds_credential"
    system_id: int
    id: str


class ListCredentials(Query):
    TYPE = "issuer.list_credentials"
    system_id: int
    status: CredentialStatus | None = None
    page: Page | None = None


class RetryCredential(Command):
    """Retry a failed credential (with the system's key as it is now, where every earlier
    attempt was refused outright)."""

    TYPE = "issuer.retry_credential"
    system_id: int
    id: str


class SetOpenCampusKey(Command):
    TYPE = "issuer.set_open_campus_key"
    system_id: int
    system: str
    api_key: Annotated[str, Field(min_length=1, max_length=512)]


class GetOpenCampusSettings(Query):
    TYPE = "issuer.get_open_campus_settings"
    system_id: int


class IssueCredential(Command):
    """From the badges service, through its outbox: issue the credential of an award. `body` is
    the Open Campus body, `issuerReferenceId` included (derived from the award's uid)."""

    TYPE = "issuer.issue_credential"
    credential_id: uuid.UUID
    system: str
    award_uid: uuid.UUID
    body: dict[str, Any]


class CancelCredential(Command):
    """The award was revoked: a credential not issued yet is not issued."""

    TYPE = "issuer.cancel_credential"
    credential_id: uuid.UUID


class CredentialIssued(Event):
    TYPE = "credential.issued"
    system: str
    credential: dict[str, Any]


class CredentialFailed(Event):
    TYPE = "credential.failed"
    system: str
    credential: dict[str, Any]
