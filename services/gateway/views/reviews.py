"""Reviews of an application (BadgeKit's `{B}/applications/:application/reviews`)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.render import created, deleted, json_response, listing, updated
from services.gateway.responses import envelopes
from services.gateway.responses.awards import Review
from services.gateway.routes import in_contexts
from services.gateway.validation import pagination
from services.gateway.views.common import ask_badges, fields_of, here, scope
from shared.messages.applications import (
    ApplicationPath,
    CreateReview,
    DeleteReview,
    GetReview,
    ListReviews,
    ReviewChanges,
    ReviewFields,
    UpdateReview,
)


def application(request: web.Request) -> ApplicationPath:
    match = request.match_info
    return ApplicationPath(
        scope=scope(request), badge=match["badge"], application=match["application"]
    )


async def list_reviews(request: web.Request) -> web.Response:
    page = pagination(request)
    found = await ask_badges(request, ListReviews(at=application(request), page=page))
    return listing("reviews", found, page)


async def create_review(request: web.Request) -> web.Response:
    command = CreateReview(at=application(request), review=fields_of(request, ReviewFields))
    review = await ask_badges(request, command)
    return created("review", review, location=here(request, review["slug"]))


async def get_review(request: web.Request) -> web.Response:
    query = GetReview(at=application(request), slug=request.match_info["review"])
    return json_response({"review": await ask_badges(request, query)})


async def update_review(request: web.Request) -> web.Response:
    command = UpdateReview(
        at=application(request),
        slug=request.match_info["review"],
        changes=fields_of(request, ReviewChanges),
    )
    return updated("review", await ask_badges(request, command))


async def delete_review(request: web.Request) -> web.Response:
    command = DeleteReview(at=application(request), slug=request.match_info["review"])
    # BadgeKit answered under the key `badge` (a bug); the review is under `review`.
    return deleted("review", await ask_badges(request, command))


R = "/badges/{badge}/applications/{application}/reviews"
ROUTES = [
    *in_contexts(
        "GET",
        R,
        list_reviews,
        "List an application's reviews",
        "reviews",
        paged=True,
        reply=envelopes.listing("reviews", Review),
    ),
    *in_contexts(
        "POST",
        R,
        create_review,
        "Review an application (announces `application.reviewed`)",
        "reviews",
        ReviewFields,
        201,
        reply=envelopes.created("review", Review),
    ),
    *in_contexts(
        "GET",
        f"{R}/{{review}}",
        get_review,
        "Get a review",
        "reviews",
        reply=envelopes.reply("review", Review),
    ),
    *in_contexts(
        "PUT",
        f"{R}/{{review}}",
        update_review,
        "Update a review; its items change only when given (announces `application.reviewed`)",
        "reviews",
        ReviewChanges,
        reply=envelopes.updated("review", Review),
    ),
    *in_contexts(
        "DELETE",
        f"{R}/{{review}}",
        delete_review,
        "Delete a review",
        "reviews",
        reply=envelopes.deleted("review", Review),
    ),
]
