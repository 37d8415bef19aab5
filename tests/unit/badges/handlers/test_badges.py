"""Badges (services/badges/handlers/badges.py): their events, the 409 of a taken slug and the
400 of a taken Open Campus identifier, nested lists replaced only when given, uploaded images.
Run on an in-memory repository (fakes.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.badges.deps import Deps
from services.badges.handlers import badges as handlers
from services.badges.lookups import shown
from shared.errors import Conflict, ValidationFailed
from shared.messages.badges import (
    BadgeChanges,
    BadgeFields,
    CreateBadge,
    DeleteBadge,
    GetBadge,
    UpdateBadge,
)
from shared.messages.common import ImageUpload, Scope
from tests.unit.badges.fakes import (
    BASE_URL,
    FakeRepository,
    Row,
    emitted,
    event,
    request_context,
)

SCOPE = Scope(system="chicago")
OCA = {"kind": "OCA", "achievementType": "Badge"}
PNG = ImageUpload(content_type="image/png", data=b"\x89PNG\r\n\x1a\n")


@pytest.fixture
def system(repo: FakeRepository) -> Row:
    return repo.add_system("chicago")


def badge_fields(**fields: Any) -> BadgeFields:
    return BadgeFields.model_validate(
        {
            "slug": "reader",
            "name": "Reader",
            "earnerDescription": "You read.",
            "consumerDescription": "The earner read.",
            "criteriaUrl": "https://example.org/criteria",
            "unique": False,
            **fields,
        }
    )


def update(slug: str = "reader", image: ImageUpload | None = None, **changes: Any) -> UpdateBadge:
    return UpdateBadge(
        scope=SCOPE, slug=slug, changes=BadgeChanges.model_validate(changes), image=image
    )


class TestCreateBadge:
    async def test_created_with_its_lists_and_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateBadge(
            scope=SCOPE,
            badge=badge_fields(
                criteria=[{"description": "Read ten books", "required": True}],
                tags=["reading", "reading", "summer"],
            ),
        )
        ctx = request_context(deps, cmd)

        badge = await handlers.create_badge(cmd, ctx)

        [stored] = repo.tables.badges.values()
        assert badge == shown(ctx, repo.tables.badge(stored["id"]))
        assert [item["description"] for item in badge["criteria"]] == ["Read ten books"]
        assert [tag["value"] for tag in badge["tags"]] == ["reading", "summer"]
        assert ctx.system_id == system["id"]
        assert emitted(ctx) == ["badge.created"]
        assert event(ctx, "badge.created") == {"system": "chicago", "badge": badge}

    async def test_lists_not_given_are_not_written(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateBadge(scope=SCOPE, badge=badge_fields())

        await handlers.create_badge(cmd, request_context(deps, cmd))

        assert repo.ran("badges") == ["badges.insert", "badges.get"]

    async def test_an_uploaded_image_is_shown_under_the_public_url(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        cmd = CreateBadge(scope=SCOPE, badge=badge_fields(), image=PNG)

        badge = await handlers.create_badge(cmd, request_context(deps, cmd))

        [image] = repo.tables.images.values()
        assert (image["system_id"], image["data"]) == (system["id"], PNG.data)
        assert badge["imageUrl"] == f"{BASE_URL}/public/images/{image['slug']}"

    async def test_a_taken_slug_is_a_409(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        cmd = CreateBadge(scope=SCOPE, badge=badge_fields())
        ctx = request_context(deps, cmd)

        with pytest.raises(Conflict, match="badge with that `slug` already exists") as taken:
            await handlers.create_badge(cmd, ctx)
        assert taken.value.details is not None
        assert taken.value.details["slug"] == "reader"
        assert ctx.events == []

    async def test_a_taken_open_campus_identifier_is_a_400_on_the_slug(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        """Two credential badges whose slugs share their first 50 characters."""
        stem = "r" * 50
        repo.add_badge(system["id"], f"{stem}-one", credential=OCA)
        cmd = CreateBadge(scope=SCOPE, badge=badge_fields(slug=f"{stem}-two", credential=OCA))

        with pytest.raises(ValidationFailed) as refused:
            await handlers.create_badge(cmd, request_context(deps, cmd))
        [detail] = refused.value.details
        assert (detail["field"], detail["value"]) == ("slug", f"{stem}-two")
        assert f"`{stem}`" in detail["message"]


class TestUpdateBadge:
    async def test_changed_and_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stored = repo.add_badge(system["id"], "reader")
        cmd = update(name="Avid Reader", limit=3)
        ctx = request_context(deps, cmd)

        badge = await handlers.update_badge(cmd, ctx)

        assert (stored["name"], stored["award_limit"]) == ("Avid Reader", 3)
        assert (badge["name"], badge["limit"]) == ("Avid Reader", 3)
        assert event(ctx, "badge.updated") == {"system": "chicago", "badge": badge}

    async def test_lists_are_replaced_only_when_given(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stored = repo.add_badge(system["id"], "reader", categories=["fiction"])
        criterion = repo.add_criterion(stored)

        kept = await handlers.update_badge(update(name="Avid"), request_context(deps, update()))
        assert [item["id"] for item in kept["criteria"]] == [criterion]
        assert kept["categories"] == ["fiction"]

        cmd = update(criteria=[{"description": "Read twenty books"}], categories=[])
        replaced = await handlers.update_badge(cmd, request_context(deps, cmd))
        assert [item["description"] for item in replaced["criteria"]] == ["Read twenty books"]
        assert replaced["categories"] == []

    async def test_an_uploaded_image_replaces_the_external_url(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stored = repo.add_badge(system["id"], "reader", image_url="https://example.org/old.png")
        cmd = update(image=PNG)

        badge = await handlers.update_badge(cmd, request_context(deps, cmd))

        [image] = repo.tables.images.values()
        assert (stored["image_url"], stored["image_id"]) == (None, image["id"])
        assert badge["imageUrl"] == f"{BASE_URL}/public/images/{image['slug']}"

    async def test_an_external_url_replaces_an_uploaded_image(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stored = repo.add_badge(system["id"], "reader", image_id=99)
        cmd = update(imageUrl="https://example.org/new.png")

        badge = await handlers.update_badge(cmd, request_context(deps, cmd))

        assert stored["image_id"] is None
        assert badge["imageUrl"] == "https://example.org/new.png"

    async def test_a_credential_whose_identifier_is_taken_is_a_400_on_the_credential(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stem = "r" * 50
        repo.add_badge(system["id"], f"{stem}-one", credential=OCA)
        repo.add_badge(system["id"], f"{stem}-two")
        cmd = update(f"{stem}-two", credential=OCA)
        ctx = request_context(deps, cmd)

        with pytest.raises(ValidationFailed) as refused:
            await handlers.update_badge(cmd, ctx)
        [detail] = refused.value.details
        assert (detail["field"], detail["value"]) == ("credential", "")
        assert ctx.events == []

    async def test_any_other_unique_violation_is_not_hidden(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        repo.add_badge(system["id"], "reader")
        repo.failing["badges.update"] = asyncpg.UniqueViolationError("another index")
        cmd = update(name="Avid")
        with pytest.raises(asyncpg.UniqueViolationError):
            await handlers.update_badge(cmd, request_context(deps, cmd))

    async def test_a_credential_badge_open_campus_would_refuse_is_a_400(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        """Checked on the badge as stored: a name of spaces makes no achievement name."""
        repo.add_badge(system["id"], "reader", name="   ")
        cmd = update(credential=OCA)
        ctx = request_context(deps, cmd)

        with pytest.raises(ValidationFailed) as refused:
            await handlers.update_badge(cmd, ctx)
        assert [detail["field"] for detail in refused.value.details] == ["name"]
        assert ctx.events == []


class TestDeleteBadge:
    async def test_deleted_and_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        stored = repo.add_badge(system["id"], "reader")
        repo.add_award(stored, "ada@example.org")
        cmd = DeleteBadge(scope=SCOPE, slug="reader")
        ctx = request_context(deps, cmd)
        before = shown(ctx, repo.tables.badge(stored["id"]))

        badge = await handlers.delete_badge(cmd, ctx)

        assert badge == before
        assert repo.tables.badges == {}
        assert repo.tables.instances == {}
        assert event(ctx, "badge.deleted") == {"system": "chicago", "badge": before}

    async def test_badges_deleted_with_their_issuer_are_each_announced(
        self, deps: Deps, repo: FakeRepository, system: Row
    ) -> None:
        issuer = repo.add_issuer(system, "library")
        ids = [
            repo.add_badge(system["id"], slug, issuer_id=issuer["id"])["id"]
            for slug in ("reader", "writer")
        ]
        ctx = request_context(deps, DeleteBadge(scope=SCOPE, slug="reader"))
        place = await repo.scopes.resolve(Scope(system="chicago", issuer="library"))

        await handlers.delete_badges(ctx, place, ids)

        assert repo.tables.badges == {}
        assert [e.data["badge"]["slug"] for e in ctx.events] == ["reader", "writer"]
        assert emitted(ctx) == ["badge.deleted", "badge.deleted"]


async def test_a_badge_is_shown_with_the_milestones_it_is_the_primary_badge_of(
    deps: Deps, repo: FakeRepository, system: Row
) -> None:
    primary = repo.add_badge(system["id"], "bookworm")
    support = repo.add_badge(system["id"], "reader")
    milestone = repo.add_milestone(system["id"], primary["id"], [support["id"]])
    query = GetBadge(scope=SCOPE, slug="bookworm")

    badge = await handlers.get_badge(query, request_context(deps, query))

    [shown_milestone] = badge["milestones"]
    assert shown_milestone["id"] == milestone
    assert [b["slug"] for b in shown_milestone["supportBadges"]] == ["reader"]
