"""Finding what a message names (services/badges/lookups.py): a badge by its path, with the 404
of the first level that does not exist. Run on an in-memory repository (fakes.py)."""

from __future__ import annotations

import pytest

from services.badges import lookups
from services.badges.deps import Deps
from shared.errors import NotFound
from shared.messages.common import Scope
from shared.messages.systems import GetSystem
from tests.unit.badges.fakes import FakeRepository, Row, request_context


@pytest.fixture
def program(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    return repo.add_program(repo.add_issuer(system, "library"), "summer")


class TestFindBadge:
    async def test_a_badge_names_its_system(
        self, deps: Deps, repo: FakeRepository, program: Row
    ) -> None:
        badge = repo.add_badge(
            program["system_id"], "reader", issuer_id=program["issuer_id"], program_id=program["id"]
        )
        ctx = request_context(deps, GetSystem(slug="chicago"))
        scope = Scope(system="chicago", issuer="library", program="summer")

        found = await lookups.find_badge(ctx, scope, "reader")

        assert found == repo.tables.badge(badge["id"])
        assert ctx.system_id == program["system_id"]
        # One round trip when the badge exists: the levels are resolved only for a 404.
        assert repo.ran() == ["badges.find"]

    @pytest.mark.parametrize(
        ("scope", "missing"),
        [
            (Scope(system="springfield", issuer="library"), "system"),
            (Scope(system="chicago", issuer="museum", program="summer"), "issuer"),
            (Scope(system="chicago", issuer="library", program="winter"), "program"),
            (Scope(system="chicago", issuer="library", program="summer"), "badge"),
        ],
    )
    async def test_the_404_names_the_first_level_missing(
        self, deps: Deps, program: Row, scope: Scope, missing: str
    ) -> None:
        ctx = request_context(deps, GetSystem(slug="chicago"))
        with pytest.raises(NotFound, match=f"Could not find {missing} field"):
            await lookups.find_badge(ctx, scope, "reader")


async def test_milestones_are_shown_with_their_badges_in_one_look_up(
    deps: Deps, repo: FakeRepository, program: Row
) -> None:
    system_id = program["system_id"]
    primary = repo.add_badge(system_id, "bookworm")
    support = repo.add_badge(system_id, "reader")
    repo.add_milestone(system_id, primary["id"], [support["id"]])
    ctx = request_context(deps, GetSystem(slug="chicago"))

    [shown] = await lookups.milestones_for_badge(ctx, primary["id"])

    assert shown["primaryBadge"]["slug"] == "bookworm"
    assert [badge["slug"] for badge in shown["supportBadges"]] == ["reader"]
    assert repo.ran("milestones.badges_by_id") == ["milestones.badges_by_id"]
