"""Issuers and programs (services/badges/handlers/issuers.py): a change to one is announced, as
the badges under it show it (every gateway's read cache drops the system's badges on it). Run on
an in-memory repository (fakes.py)."""

from __future__ import annotations

import pytest

from services.badges.deps import Deps
from services.badges.handlers import issuers as handlers
from shared.messages.common import Scope
from shared.messages.issuers import DeleteIssuer, DeleteProgram, UpdateIssuer, UpdateProgram
from shared.messages.systems import OrganizationChanges
from tests.unit.badges.fakes import FakeRepository, Row, emitted, event, request_context

RENAMED = OrganizationChanges.model_validate({"name": "Renamed"})


@pytest.fixture
def program(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    return repo.add_program(repo.add_issuer(system, "library"), "summer")


class TestAnnounced:
    async def test_an_issuer_updated(self, deps: Deps, program: Row) -> None:
        cmd = UpdateIssuer(scope=Scope(system="chicago", issuer="library"), changes=RENAMED)
        ctx = request_context(deps, cmd)

        shown = await handlers.update_issuer(cmd, ctx)

        assert event(ctx, "issuer.updated") == {"system": "chicago", "issuer": shown}
        assert shown["name"] == "Renamed"

    async def test_a_program_updated(self, deps: Deps, program: Row) -> None:
        scope = Scope(system="chicago", issuer="library", program="summer")
        cmd = UpdateProgram(scope=scope, changes=RENAMED)
        ctx = request_context(deps, cmd)

        shown = await handlers.update_program(cmd, ctx)

        assert event(ctx, "program.updated") == {"system": "chicago", "program": shown}

    async def test_an_issuer_deleted(self, deps: Deps, program: Row) -> None:
        cmd = DeleteIssuer(scope=Scope(system="chicago", issuer="library"))
        ctx = request_context(deps, cmd)

        shown = await handlers.delete_issuer(cmd, ctx)

        assert emitted(ctx) == ["issuer.deleted"]
        assert event(ctx, "issuer.deleted") == {"system": "chicago", "issuer": shown}

    async def test_a_program_deleted(self, deps: Deps, program: Row) -> None:
        cmd = DeleteProgram(scope=Scope(system="chicago", issuer="library", program="summer"))
        ctx = request_context(deps, cmd)

        shown = await handlers.delete_program(cmd, ctx)

        assert event(ctx, "program.deleted") == {"system": "chicago", "program": shown}
