"""The public documents (services/badges/handlers/public.py): a BadgeClass at its badge's own
level only, an Assertion that says whether it is revoked, images with their ETag. Run on an
in-memory repository (fakes.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from services.badges.deps import Deps
from services.badges.handlers import public as handlers
from shared.errors import NotFound
from shared.messages.common import ImageUpload, Scope
from shared.messages.public import GetAssertion, GetBadgeClass, GetImage
from tests.unit.badges.fakes import BASE_URL, NOW, FakeRepository, Row, request_context


@pytest.fixture
def badge(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    issuer = repo.add_issuer(system, "library")
    return repo.add_badge(system["id"], "reader", issuer_id=issuer["id"])


class TestBadgeClass:
    async def test_at_the_badges_own_level(self, deps: Deps, badge: Row) -> None:
        query = GetBadgeClass(scope=Scope(system="chicago", issuer="library"), badge="reader")

        document = await handlers.get_badge_class(query, request_context(deps, query))

        assert document["id"] == f"{BASE_URL}/public/systems/chicago/issuers/library/badges/reader"

    async def test_not_under_its_ancestors(self, deps: Deps, badge: Row) -> None:
        query = GetBadgeClass(scope=Scope(system="chicago"), badge="reader")
        with pytest.raises(NotFound, match="badge"):
            await handlers.get_badge_class(query, request_context(deps, query))


class TestAssertion:
    @pytest.mark.parametrize(("revoked_at", "revoked"), [(None, False), (NOW, True)])
    async def test_says_whether_it_is_revoked(
        self, deps: Deps, repo: FakeRepository, badge: Row, revoked_at: object, revoked: bool
    ) -> None:
        award = repo.add_award(badge, "ada@example.org", revoked_at=revoked_at)
        query = GetAssertion(slug=award["slug"])

        found = await handlers.get_assertion(query, request_context(deps, query))

        assert found["revoked"] is revoked
        assert found["assertion"]["id"] == f"{BASE_URL}/public/assertions/{award['slug']}"
        assert "ada@example.org" not in str(found)

    async def test_carries_the_earners_name_beside_the_assertion(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        named = repo.add_award(badge, "ada@example.org", recipient_name="Ada Lovelace")
        unnamed = repo.add_award(badge, "bob@example.org")
        for award, name in ((named, "Ada Lovelace"), (unnamed, None)):
            query = GetAssertion(slug=award["slug"])
            found = await handlers.get_assertion(query, request_context(deps, query))
            assert found["name"] == name
            assert "Ada Lovelace" not in str(found["assertion"])

    async def test_names_its_system(self, deps: Deps, repo: FakeRepository, badge: Row) -> None:
        # The gateway's read cache files the answer under it, to drop it on the system's changes.
        award = repo.add_award(badge, "ada@example.org")
        query = GetAssertion(slug=award["slug"])

        found = await handlers.get_assertion(query, request_context(deps, query))

        assert found["system"] == "chicago"

    async def test_names_its_badges_image_for_baking(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        award = repo.add_award(badge, "ada@example.org")
        query = GetAssertion(slug=award["slug"])

        found = await handlers.get_assertion(query, request_context(deps, query))

        assert found["image"] == badge["image_url"] == "https://example.org/badge.png"
        assert "image" not in found["assertion"]

    async def test_an_uploaded_image_is_named_by_its_public_url(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        image_id = await repo.images.insert(
            badge["system_id"], ImageUpload(content_type="image/png", data=b"\x89PNG\r\n\x1a\n")
        )
        repo.tables.badges[badge["id"]].update(image_id=image_id, image_url=None)
        award = repo.add_award(badge, "ada@example.org")
        query = GetAssertion(slug=award["slug"])

        found = await handlers.get_assertion(query, request_context(deps, query))

        slug = repo.tables.images[image_id]["slug"]
        assert found["image"] == f"{BASE_URL}/public/images/{slug}"

    async def test_an_unknown_award_is_a_404(self, deps: Deps, badge: Row) -> None:
        query = GetAssertion(slug="nope")
        with pytest.raises(NotFound):
            await handlers.get_assertion(query, request_context(deps, query))


async def test_an_image_comes_with_its_type_and_an_etag_of_its_bytes(
    deps: Deps, repo: FakeRepository, badge: Row
) -> None:
    data = b"\x89PNG\r\n\x1a\n"
    image_id = await repo.images.insert(
        badge["system_id"], ImageUpload(content_type="image/png", data=data)
    )
    query = GetImage(slug=repo.tables.images[image_id]["slug"])

    image = await handlers.get_image(query, request_context(deps, query))

    assert image == {
        "contentType": "image/png",
        "data": base64.b64encode(data).decode(),
        "etag": hashlib.sha256(data).hexdigest()[:32],
    }
