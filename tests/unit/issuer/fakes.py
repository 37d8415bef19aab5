"""Hand-written stand-ins for what the issuer's handlers are given: its repository, kept in
memory under the rules its SQL enforces (the SQL itself is tested on Postgres, in
tests/integration/issuer), and the scheduler, which handlers only wake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.issuer.deps import Deps
from shared.context import Context
from shared.crypto import SecretBox
from shared.envelope import Envelope
from shared.messages.base import Message
from shared.messages.fields import Page

Row = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
SYSTEM_ID = 7
OTHER_SYSTEM_ID = 8
# Never a connection: a handler reaching Postgres other than through its repository fails.
NO_CONNECTION: Any = object()
SECRETS = SecretBox(["unit-test-encryption-key"])


def request_context(deps: Deps, message: Message) -> Context[Deps]:
    """A request's context: its handler names the system (`ctx.system_id`) itself."""
    envelope = Envelope.wrap(message, correlation_id="c", system_id=SYSTEM_ID)
    return Context(NO_CONNECTION, deps, envelope)


def event_context(deps: Deps, message: Message) -> Context[Deps]:
    """An event's (or an outbox command's) context: the system is its envelope's."""
    envelope = Envelope.wrap(message, correlation_id="c", system_id=SYSTEM_ID)
    return Context(NO_CONNECTION, deps, envelope, system_id=envelope.system_id)


def credential_row(**fields: Any) -> Row:
    """A credential as the `credentials` table holds it, pending by default."""
    credential_id = fields.pop("id", None) or uuid.uuid4()
    return {
        "id": credential_id,
        "system_id": 1,
        "system": "chicago",
        "issuer_reference_id": f"plaudit:{credential_id}",
        "kind": "OCA",
        "award_uid": None,
        "correlation_id": "c",
        "body": {"holderOcId": "ada.edu"},
        "body_hash": "",
        "status": "pending",
        "vc_id": None,
        "error": None,
        "key_ciphertext": None,
        "key_fingerprint": None,
        "attempts": 0,
        "schedule_step": 0,
        "not_sent": 0,
        "refused": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }


class FakeCredentials:
    """The Open Campus credentials' statements in memory: what handlers wrote is in
    `credentials`, `attempts` and `keys`."""

    def __init__(self) -> None:
        self.credentials: dict[uuid.UUID, Row] = {}
        self.attempts: dict[uuid.UUID, list[Row]] = {}
        self.keys: dict[int, Row] = {}

    def add(self, **fields: Any) -> Row:
        row = credential_row(**fields)
        self.credentials[row["id"]] = row
        return row

    async def insert(
        self,
        *,
        credential_id: uuid.UUID,
        system_id: int,
        system: str,
        reference: str,
        kind: str,
        award_uid: uuid.UUID | None,
        body: dict[str, Any],
        body_hash: str,
        correlation_id: str,
    ) -> tuple[bool, Row]:
        for row in self.credentials.values():
            if (
                (row["system_id"], row["issuer_reference_id"]) == (system_id, reference)
                or (award_uid is not None and row["award_uid"] == award_uid)
                or row["id"] == credential_id
            ):
                return False, dict(row)
        row = self.add(
            id=credential_id,
            system_id=system_id,
            system=system,
            issuer_reference_id=reference,
            kind=kind,
            award_uid=award_uid,
            body=body,
            body_hash=body_hash,
            correlation_id=correlation_id,
        )
        return True, dict(row)

    async def get(self, system_id: int, credential_id: uuid.UUID) -> Row | None:
        row = self.credentials.get(credential_id)
        return dict(row) if row is not None and row["system_id"] == system_id else None

    async def listing(
        self, system_id: int, status: str | None, page: Page | None
    ) -> tuple[list[Row], int]:
        found = [
            dict(row)
            for row in self.credentials.values()
            if row["system_id"] == system_id and status in (None, row["status"])
        ]
        if page is None:
            return found, len(found)
        start = (page.page - 1) * page.count
        return found[start : start + page.count], len(found)

    async def attempts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
        return {credential_id: self.attempts.get(credential_id, []) for credential_id in ids}

    async def retry(self, system_id: int, credential_id: uuid.UUID) -> Row | None:
        row = self.credentials.get(credential_id)
        if row is None or row["system_id"] != system_id or row["status"] != "failed":
            return None
        row.update(status="pending", error=None, schedule_step=0)
        return dict(row)

    async def set_key(self, system_id: int, ciphertext: str, fingerprint: str, last4: str) -> None:
        self.keys[system_id] = {
            "ciphertext": ciphertext,
            "fingerprint": fingerprint,
            "last4": last4,
        }

    async def key_last4(self, system_id: int) -> str | None:
        key = self.keys.get(system_id)
        return key["last4"] if key is not None else None

    async def cancel(self, credential_id: uuid.UUID) -> None:
        row = self.credentials.get(credential_id)
        if row is not None and row["status"] in ("pending", "failed"):
            row.update(status="cancelled", next_attempt_at=None)

    async def purge_system(self, system_id: int) -> None:
        self.credentials = {
            key: row for key, row in self.credentials.items() if row["system_id"] != system_id
        }
        self.keys.pop(system_id, None)


class FakeRepository:
    """The issuer's repository facade over the in-memory families; `purged` holds (system_id,
    message_id of the inbox row kept) of each purge."""

    def __init__(self, credentials: FakeCredentials | None = None) -> None:
        self.credentials = credentials or FakeCredentials()
        self.purged: list[tuple[int, uuid.UUID]] = []

    async def purge_system(self, system_id: int, keep: Envelope) -> None:
        await self.credentials.purge_system(system_id)
        self.purged.append((system_id, keep.message_id))


class FakeScheduler:
    """Handlers only wake the scheduler (after their commit) when they add due work."""

    def wake(self) -> None:
        raise AssertionError("woken before the commit: handlers only add `wake` to after_commit")
