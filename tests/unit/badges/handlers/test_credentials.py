"""The issuer's outcomes kept on awards (services/badges/handlers/credentials.py), and whether
an award holds a credential. Run on an in-memory repository (fakes.py)."""

from __future__ import annotations

import pytest

from services.badges.deps import Deps
from services.badges.handlers import credentials as handlers
from shared.context import Context
from shared.envelope import Envelope
from shared.errors import PermanentError
from shared.messages.base import Message
from shared.messages.credentials import CredentialFailed, CredentialIssued, HoldsCredential
from tests.unit.badges.fakes import NO_CONNECTION, FakeRepository, Row, request_context

CREDENTIAL_ID = "8b0b7a8e-3c52-4f0e-9a43-2f8f1d6c0b1e"


@pytest.fixture
def award(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    badge = repo.add_badge(system["id"], "reader")
    return repo.add_award(
        badge, "ada@example.org", credential_id=CREDENTIAL_ID, credential_status="pending"
    )


def event_context(deps: Deps, event: Message, system_id: int) -> Context[Deps]:
    """An event's context: its system is its envelope's."""
    envelope = Envelope.wrap(event, correlation_id="c", system_id=system_id)
    return Context(NO_CONNECTION, deps, envelope, system_id=system_id, in_transaction=True)


class TestOutcomes:
    async def test_issued_is_kept_with_the_vc_id(self, deps: Deps, award: Row) -> None:
        event = CredentialIssued(
            system="chicago", credential={"id": CREDENTIAL_ID.upper(), "vcId": "vc-9"}
        )

        await handlers.credential_issued(event, event_context(deps, event, award["system_id"]))

        assert (award["credential_status"], award["credential_vc_id"]) == ("issued", "vc-9")

    async def test_failed_is_kept(self, deps: Deps, award: Row) -> None:
        event = CredentialFailed(system="chicago", credential={"id": CREDENTIAL_ID, "vcId": "x"})

        await handlers.credential_failed(event, event_context(deps, event, award["system_id"]))

        assert (award["credential_status"], award["credential_vc_id"]) == ("failed", None)

    async def test_another_systems_event_changes_nothing(
        self, deps: Deps, repo: FakeRepository, award: Row
    ) -> None:
        event = CredentialIssued(system="springfield", credential={"id": CREDENTIAL_ID})

        await handlers.credential_issued(event, event_context(deps, event, award["system_id"] + 1))

        assert award["credential_status"] == "pending"

    async def test_an_event_without_a_credential_id_is_dead_lettered(
        self, deps: Deps, award: Row
    ) -> None:
        event = CredentialIssued(system="chicago", credential={"vcId": "vc-9"})
        with pytest.raises(PermanentError):
            await handlers.credential_issued(event, event_context(deps, event, award["system_id"]))


class TestHoldsCredential:
    async def test_an_awards_credential(self, deps: Deps, award: Row) -> None:
        query = HoldsCredential(system_id=award["system_id"], id=CREDENTIAL_ID)
        assert await handlers.holds_credential(query, request_context(deps, query)) is True

    async def test_not_a_uuid_is_held_by_none_without_a_look_up(
        self, deps: Deps, repo: FakeRepository, award: Row
    ) -> None:
        query = HoldsCredential(system_id=award["system_id"], id="not-a-uuid")
        assert await handlers.holds_credential(query, request_context(deps, query)) is False
        assert repo.ran("instances.holds_credential") == []

    async def test_another_systems_credential_is_not_held(self, deps: Deps, award: Row) -> None:
        query = HoldsCredential(system_id=award["system_id"] + 1, id=CREDENTIAL_ID)
        assert await handlers.holds_credential(query, request_context(deps, query)) is False
