"""Reviews of an application: an author's verdict on each criterion of the badge.

Writing or changing a review announces `application.reviewed` with whether the application is
approved; nothing is awarded here (as in BadgeKit, the subscriber decides and calls back)."""

from __future__ import annotations

from typing import Any

from services.badges.deps import Ctx, Deps, repository
from services.badges.domain import reviews as present
from services.badges.domain.common import listing
from services.badges.errors import not_found
from services.badges.lookups import find_application, shown_application
from shared.context import Handler
from shared.errors import ValidationFailed
from shared.messages.applications import (
    ApplicationPath,
    ApplicationReviewed,
    CreateReview,
    DeleteReview,
    GetReview,
    ListReviews,
    ReviewItemInput,
    UpdateReview,
)
from shared.messages.base import Message


async def _application(ctx: Ctx, at: ApplicationPath) -> tuple[dict[str, Any], dict[str, Any]]:
    return await find_application(ctx, at.scope, at.badge, at.application)


async def _find(ctx: Ctx, application: dict[str, Any], slug: str) -> dict[str, Any]:
    row = await repository(ctx).reviews.find(application["id"], slug)
    if row is None:
        raise not_found("review", "slug", slug)
    return row


async def _criteria(
    ctx: Ctx, badge: dict[str, Any], items: list[ReviewItemInput]
) -> dict[int, bool]:
    """The badge's criteria (id -> required), once `items` are known to review only those."""
    criteria = await repository(ctx).reviews.criteria_of(badge["id"])
    problems = present.item_problems(criteria, items)
    if problems:
        raise ValidationFailed(problems)
    return criteria


def _announce(
    ctx: Ctx,
    badge: dict[str, Any],
    application: dict[str, Any],
    review: dict[str, Any],
    criteria: dict[int, bool],
) -> None:
    items = [(item["criterion_id"], item["satisfied"]) for item in review["items"]]
    ctx.emit(
        ApplicationReviewed(
            system=badge["system"]["slug"],
            application=shown_application(ctx, application, badge),
            review=present.review(review),
            approved=present.approved(criteria, items),
        ),
        system_id=badge["system_id"],
    )


async def list_reviews(query: ListReviews, ctx: Ctx) -> dict[str, Any]:
    _, application = await _application(ctx, query.at)
    rows, total = await repository(ctx).reviews.of_application(application["id"], query.page)
    return listing([present.review(row) for row in rows], total)


async def get_review(query: GetReview, ctx: Ctx) -> dict[str, Any]:
    _, application = await _application(ctx, query.at)
    return present.review(await _find(ctx, application, query.slug))


async def create_review(cmd: CreateReview, ctx: Ctx) -> dict[str, Any]:
    badge, application = await _application(ctx, cmd.at)
    criteria = await _criteria(ctx, badge, cmd.review.review_items)
    repo = repository(ctx)
    review_id = await repo.reviews.insert(application["id"], cmd.review.model_dump())
    await repo.reviews.replace_items(review_id, cmd.review.review_items)
    review = await repo.reviews.get(review_id)
    _announce(ctx, badge, application, review, criteria)
    return present.review(review)


async def update_review(cmd: UpdateReview, ctx: Ctx) -> dict[str, Any]:
    """Change a review; its items are replaced only when `reviewItems` is given."""
    badge, application = await _application(ctx, cmd.at)
    row = await _find(ctx, application, cmd.slug)
    items = cmd.changes.review_items
    criteria = await _criteria(ctx, badge, items or [])
    repo = repository(ctx)
    await repo.reviews.update(row["id"], cmd.changes.model_dump(exclude_unset=True))
    if "review_items" in cmd.changes.model_fields_set:
        await repo.reviews.replace_items(row["id"], items or [])
    review = await repo.reviews.get(row["id"])
    _announce(ctx, badge, application, review, criteria)
    return present.review(review)


async def delete_review(cmd: DeleteReview, ctx: Ctx) -> dict[str, Any]:
    _, application = await _application(ctx, cmd.at)
    row = await _find(ctx, application, cmd.slug)
    await repository(ctx).reviews.delete(row["id"])
    return present.review(row)


HANDLERS: dict[type[Message], Handler[Deps]] = {
    ListReviews: list_reviews,
    GetReview: get_review,
    CreateReview: create_review,
    UpdateReview: update_review,
    DeleteReview: delete_review,
}
