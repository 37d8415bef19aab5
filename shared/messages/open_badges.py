"""Open Badges 3.0: the systems' signing keys, DID documents, signed credentials and status
lists (served by the issuer service)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.messages.base import Command, Query
from shared.messages.instances import BadgeAwarded


class ListSigningKeys(Query):
    """Every key of the system, newest first (its first keys are created if it has none)."""

    TYPE = "issuer.list_signing_keys"
    system_id: int
    system: str


class RotateSigningKeys(Command):
    """New current keys of each type; the current ones become previous and keep verifying."""

    TYPE = "issuer.rotate_signing_keys"
    system_id: int
    system: str


class RetireSigningKey(Command):
    """A previous key leaves the DID document: what it signed stops verifying."""

    TYPE = "issuer.retire_signing_key"
    system_id: int
    system: str
    key_id: Annotated[str, Field(max_length=200)]


class GetDidDocument(Query):
    TYPE = "issuer.get_did_document"
    system_id: int
    system: str


class GetOpenBadgeCredential(Query):
    """An award's signed credential, both forms; NotFound until it is signed."""

    TYPE = "issuer.get_open_badge_credential"
    slug: Annotated[str, Field(max_length=200)]


class GetStatusList(Query):
    TYPE = "issuer.get_status_list"
    system_id: int
    list_id: Annotated[str, Field(max_length=200)]


class SignOpenBadgeCredential(Command):
    """From the badges service, through its outbox: sign the credential of an award made before
    Open Badges 3.0 credentials existed, as its `badge.awarded` would have had it signed;
    `revoked` when the award has been revoked since (its credential is born revoked). An award
    whose credential exists already is skipped."""

    TYPE = "issuer.sign_open_badge_credential"
    awarded: BadgeAwarded
    revoked: bool
