"""A deleted system's purge in the issuer, on the in-memory repository."""

from __future__ import annotations

from services.issuer.deps import Deps
from services.issuer.handlers import systems
from shared.messages.events import SystemDeleted
from tests.unit.issuer.fakes import (
    OTHER_SYSTEM_ID,
    SYSTEM_ID,
    FakeCredentials,
    FakeRepository,
    event_context,
)


class TestPurgeSystem:
    async def test_the_systems_credentials_and_key_go_and_its_inbox_keeps_only_the_deletion(
        self, deps: Deps, repository: FakeRepository, repo: FakeCredentials
    ) -> None:
        repo.add(system_id=SYSTEM_ID)
        theirs = repo.add(system_id=OTHER_SYSTEM_ID)
        await repo.set_key(SYSTEM_ID, "ciphertext", "fingerprint", "1234")
        event = SystemDeleted(system="chicago")
        ctx = event_context(deps, event)

        await systems.purge_system(event, ctx)

        assert list(repo.credentials) == [theirs["id"]]
        assert repo.keys == {}
        assert repository.purged == [(SYSTEM_ID, ctx.envelope.message_id)]
