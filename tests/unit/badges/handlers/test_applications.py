"""Applications (services/badges/handlers/applications.py): submitted and announced, processed
once (the first time kept), evidence replaced only when given. Run on an in-memory repository
(fakes.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.badges.deps import Deps
from services.badges.handlers import applications as handlers
from shared.errors import NotFound
from shared.messages.applications import (
    ApplicationChanges,
    ApplicationFields,
    CreateApplication,
    DeleteApplication,
    ListApplications,
    UpdateApplication,
)
from shared.messages.common import Scope
from tests.unit.badges.fakes import NOW, FakeRepository, Row, emitted, event, request_context

SCOPE = Scope(system="chicago")
ADA = "ada@example.org"


@pytest.fixture
def badge(repo: FakeRepository) -> Row:
    system = repo.add_system("chicago")
    return repo.add_badge(system["id"], "reader")


def update(slug: str, **changes: Any) -> UpdateApplication:
    return UpdateApplication(
        scope=SCOPE, badge="reader", slug=slug, changes=ApplicationChanges.model_validate(changes)
    )


class TestCreateApplication:
    async def test_stored_with_its_evidence_and_announced(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        fields = ApplicationFields.model_validate(
            {"learner": ADA, "evidence": [{"url": "https://example.org/essay"}]}
        )
        cmd = CreateApplication(scope=SCOPE, badge="reader", application=fields)
        ctx = request_context(deps, cmd)

        shown = await handlers.create_application(cmd, ctx)

        [stored] = repo.tables.applications.values()
        assert (stored["badge_id"], stored["learner"]) == (badge["id"], ADA)
        assert shown["slug"] == stored["slug"]
        assert shown["evidence"] == [
            {"url": "https://example.org/essay", "mediaType": None, "reflection": None}
        ]
        assert shown["badge"]["slug"] == "reader"
        assert emitted(ctx) == ["application.submitted"]
        assert event(ctx, "application.submitted") == {"system": "chicago", "application": shown}

    async def test_no_evidence_writes_none(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        cmd = CreateApplication(
            scope=SCOPE, badge="reader", application=ApplicationFields(learner=ADA)
        )
        await handlers.create_application(cmd, request_context(deps, cmd))
        assert repo.ran("applications.replace_evidence") == []


class TestUpdateApplication:
    async def test_processed_is_the_time_it_first_was(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        application = repo.add_application(badge["id"], ADA)

        cmd = update(application["slug"], processed=True)
        first = await handlers.update_application(cmd, request_context(deps, cmd))
        processed = application["processed"]
        assert isinstance(processed, datetime)
        assert first["processed"] == processed.isoformat()

        again = await handlers.update_application(cmd, request_context(deps, cmd))
        assert application["processed"] == processed
        assert again["processed"] == first["processed"]

    async def test_unprocessed_clears_it(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        application = repo.add_application(badge["id"], ADA, processed=NOW)
        cmd = update(application["slug"], processed=False)

        shown = await handlers.update_application(cmd, request_context(deps, cmd))

        assert application["processed"] is None
        assert shown["processed"] is None

    async def test_a_date_given_is_the_processed_time(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        application = repo.add_application(badge["id"], ADA, processed=NOW)
        cmd = update(application["slug"], processed="2026-12-04T17:04:04Z")

        await handlers.update_application(cmd, request_context(deps, cmd))

        assert application["processed"] == datetime(2026, 12, 4, 17, 4, 4, tzinfo=UTC)

    async def test_evidence_is_replaced_only_when_given(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        evidence = [{"url": "https://example.org/essay", "mediaType": "link", "reflection": None}]
        application = repo.add_application(badge["id"], ADA, evidence=evidence)

        cmd = update(application["slug"], assignedTo="reviewer@example.org")
        shown = await handlers.update_application(cmd, request_context(deps, cmd))
        assert shown["evidence"] == evidence
        assert shown["assignedTo"] == "reviewer@example.org"

        cmd = update(application["slug"], evidence=[])
        shown = await handlers.update_application(cmd, request_context(deps, cmd))
        assert shown["evidence"] == []

    async def test_an_application_of_another_badge_is_a_404(
        self, deps: Deps, repo: FakeRepository, badge: Row
    ) -> None:
        other = repo.add_badge(badge["system_id"], "writer")
        application = repo.add_application(other["id"], ADA)
        cmd = update(application["slug"], processed=True)

        with pytest.raises(NotFound, match="application"):
            await handlers.update_application(cmd, request_context(deps, cmd))


async def test_a_deleted_application_takes_its_reviews(
    deps: Deps, repo: FakeRepository, badge: Row
) -> None:
    application = repo.add_application(badge["id"], ADA)
    repo.add_review(application["id"], "reviewer@example.org")
    cmd = DeleteApplication(scope=SCOPE, badge="reader", slug=application["slug"])

    shown = await handlers.delete_application(cmd, request_context(deps, cmd))

    assert shown["slug"] == application["slug"]
    assert repo.tables.applications == repo.tables.reviews == {}


async def test_a_systems_applications_each_show_their_badge(
    deps: Deps, repo: FakeRepository, badge: Row
) -> None:
    writer = repo.add_badge(badge["system_id"], "writer")
    repo.add_application(badge["id"], ADA)
    repo.add_application(writer["id"], ADA, processed=NOW)
    query = ListApplications(scope=SCOPE, processed="false")
    ctx = request_context(deps, query)

    listed = await handlers.list_applications(query, ctx)

    assert [item["badge"]["slug"] for item in listed["items"]] == ["reader"]
    assert ctx.system_id == badge["system_id"]
