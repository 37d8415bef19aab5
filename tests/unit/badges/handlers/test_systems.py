"""Systems and their API consumers (services/badges/handlers/systems.py): a consumer's secret
shown once and stored encrypted, a deleted system announced and its stored replies forgotten.
Run on an in-memory repository (fakes.py)."""

from __future__ import annotations

import pytest

from services.badges.deps import Deps
from services.badges.handlers import systems as handlers
from shared.context import Sensitive
from shared.errors import Conflict, NotFound
from shared.messages.systems import (
    ConsumerFields,
    CreateConsumer,
    CreateSystem,
    DeleteConsumer,
    DeleteSystem,
    GetConsumerCredentials,
    GetSystem,
    OrganizationChanges,
    OrganizationFields,
    ResolveSystem,
    UpdateSystem,
)
from tests.unit.badges.fakes import (
    SECRETS,
    FakeRepository,
    Row,
    emitted,
    event,
    request_context,
)


@pytest.fixture
def system(repo: FakeRepository) -> Row:
    return repo.add_system("chicago")


def fields(slug: str = "chicago") -> OrganizationFields:
    return OrganizationFields.model_validate(
        {"slug": slug, "name": "Chicago", "url": "https://chicago.example.org"}
    )


class TestCreateSystem:
    async def test_created_and_shown(self, deps: Deps, repo: FakeRepository) -> None:
        cmd = CreateSystem(system=fields())
        ctx = request_context(deps, cmd)

        shown = await handlers.create_system(cmd, ctx)

        [stored] = repo.tables.systems.values()
        assert ctx.system_id == stored["id"]
        assert shown["slug"] == "chicago"
        assert shown["issuers"] == []
        # No `system.created`: nothing subscribes to it (docs/architecture.md).
        assert ctx.events == []

    async def test_a_taken_slug_is_a_409(self, deps: Deps, system: Row) -> None:
        cmd = CreateSystem(system=fields())
        with pytest.raises(Conflict, match="system with that `slug` already exists"):
            await handlers.create_system(cmd, request_context(deps, cmd))


class TestReads:
    async def test_an_unknown_system_is_a_404(self, deps: Deps, system: Row) -> None:
        query = GetSystem(slug="springfield")
        with pytest.raises(NotFound, match="system"):
            await handlers.get_system(query, request_context(deps, query))

    async def test_resolving_names_the_system(self, deps: Deps, system: Row) -> None:
        query = ResolveSystem(slug="chicago")
        ctx = request_context(deps, query)

        assert await handlers.resolve_system(query, ctx) == {"id": system["id"], "slug": "chicago"}
        assert ctx.system_id == system["id"]


class TestUpdateSystem:
    async def test_announced(self, deps: Deps, system: Row) -> None:
        changes = OrganizationChanges.model_validate({"name": "Renamed"})
        cmd = UpdateSystem(slug="chicago", changes=changes)
        ctx = request_context(deps, cmd)

        shown = await handlers.update_system(cmd, ctx)

        assert shown["name"] == "Renamed"
        assert event(ctx, "system.updated") == {"system": "chicago", "profile": shown}
        assert ctx.events[0].system_id == system["id"]


class TestDeleteSystem:
    async def test_deleted_with_its_stored_replies_and_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = DeleteSystem(slug="chicago")
        ctx = request_context(deps, cmd)

        shown = await handlers.delete_system(cmd, ctx)

        assert shown["slug"] == "chicago"
        assert repo.tables.systems == {}
        assert repo.tables.forgotten == [system["id"]]
        assert emitted(ctx) == ["system.deleted"]
        assert event(ctx, "system.deleted") == {"system": "chicago"}
        assert ctx.events[0].system_id == system["id"]

    async def test_an_unknown_system_is_a_404_and_announces_nothing(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = DeleteSystem(slug="springfield")
        ctx = request_context(deps, cmd)
        with pytest.raises(NotFound):
            await handlers.delete_system(cmd, ctx)
        assert ctx.events == []
        assert repo.tables.forgotten == []


class TestConsumers:
    async def test_the_secret_is_shown_once_and_stored_encrypted(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateConsumer(system="chicago", consumer=ConsumerFields(description="Library app"))

        reply = await handlers.create_consumer(cmd, request_context(deps, cmd))

        assert isinstance(reply, Sensitive)
        secret = reply.data["apiSecret"]
        [stored] = repo.tables.consumers
        assert reply.data == {**reply.stored, "apiSecret": secret}
        assert "apiSecret" not in reply.stored
        assert reply.stored["apiKey"] == stored["api_key"]
        assert reply.stored["description"] == "Library app"
        assert secret not in stored["secret_ciphertext"]
        assert SECRETS.decrypt(stored["secret_ciphertext"]) == secret

    async def test_each_consumer_gets_its_own_key_and_secret(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateConsumer(system="chicago", consumer=ConsumerFields())
        first = await handlers.create_consumer(cmd, request_context(deps, cmd))
        second = await handlers.create_consumer(cmd, request_context(deps, cmd))
        assert isinstance(first, Sensitive)
        assert isinstance(second, Sensitive)
        assert first.data["apiKey"] != second.data["apiKey"]
        assert first.data["apiSecret"] != second.data["apiSecret"]

    async def test_the_gateway_gets_the_ciphertext_of_a_key(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateConsumer(system="chicago", consumer=ConsumerFields())
        reply = await handlers.create_consumer(cmd, request_context(deps, cmd))
        assert isinstance(reply, Sensitive)
        query = GetConsumerCredentials(api_key=reply.data["apiKey"])

        found = await handlers.get_consumer_credentials(query, request_context(deps, query))

        assert found is not None
        assert (found["system"], found["systemId"]) == ("chicago", system["id"])
        assert SECRETS.decrypt(found["secretCiphertext"]) == reply.data["apiSecret"]
        unknown = GetConsumerCredentials(api_key="nope")
        assert (
            await handlers.get_consumer_credentials(unknown, request_context(deps, unknown)) is None
        )

    async def test_a_deleted_consumer_is_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        create = CreateConsumer(system="chicago", consumer=ConsumerFields())
        created = await handlers.create_consumer(create, request_context(deps, create))
        assert isinstance(created, Sensitive)
        api_key = created.data["apiKey"]
        cmd = DeleteConsumer(system="chicago", api_key=api_key)
        ctx = request_context(deps, cmd)

        shown = await handlers.delete_consumer(cmd, ctx)

        assert shown == created.stored
        assert repo.tables.consumers == []
        assert event(ctx, "consumer.deleted") == {"system": "chicago", "apiKey": api_key}

    async def test_an_unknown_consumer_is_a_404(self, deps: Deps, system: Row) -> None:
        cmd = DeleteConsumer(system="chicago", api_key="nope")
        ctx = request_context(deps, cmd)
        with pytest.raises(NotFound, match="consumer"):
            await handlers.delete_consumer(cmd, ctx)
        assert ctx.events == []
