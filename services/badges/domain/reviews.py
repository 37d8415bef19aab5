"""Reviews as responses show them, and what a review decides: which items are acceptable and
whether the application is approved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.messages.applications import ReviewItemInput


def review(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "slug": row["slug"],
        "author": row["author"],
        "comment": row["comment"],
        # 0/1, as BadgeKit (MySQL booleans) showed it, like a criterion's `required`.
        "reviewItems": [
            {
                "criterionId": item["criterion_id"],
                "satisfied": int(item["satisfied"]),
                "comment": item["comment"],
            }
            for item in row["items"]
        ],
    }


def item_problems(
    criteria: Mapping[int, bool], items: list[ReviewItemInput]
) -> list[dict[str, Any]]:
    """ValidationError details for items that do not review a criterion of the application's
    badge, or review one twice."""
    problems, seen = [], set()
    for n, item in enumerate(items):
        message = None
        if item.criterion_id not in criteria:
            message = "Not a criterion of the application's badge"
        elif item.criterion_id in seen:
            message = "This criterion is already reviewed in this review"
        seen.add(item.criterion_id)
        if message:
            problems.append(
                {
                    "field": f"reviewItems.{n}.criterionId",
                    "value": item.criterion_id,
                    "message": message,
                }
            )
    return problems


def approved(criteria: Mapping[int, bool], items: Iterable[tuple[int, bool]]) -> bool:
    """Every required criterion has a satisfied item (true when none is required), as
    BadgeKit's review webhook decided it."""
    satisfied = {criterion_id for criterion_id, ok in items if ok}
    return all(criterion_id in satisfied for criterion_id, required in criteria.items() if required)
