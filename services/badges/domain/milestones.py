"""Milestones as responses show them, and when one is met."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def milestone(row: Mapping[str, Any], shown_badges: Mapping[int, dict[str, Any]]) -> dict[str, Any]:
    """`shown_badges`: the milestone's badges as responses show them, by id."""
    return {
        "id": row["id"],
        "action": row["action"],
        "numberRequired": row["number_required"],
        "primaryBadge": shown_badges.get(row["primary_badge_id"]),
        "supportBadges": [
            shown_badges[badge_id]
            for badge_id in row["support_badge_ids"]
            if badge_id in shown_badges
        ],
    }


def badge_ids(rows: Sequence[Mapping[str, Any]]) -> set[int]:
    """Every badge the milestones name, primary and support."""
    return {row["primary_badge_id"] for row in rows} | {
        badge_id for row in rows for badge_id in row["support_badge_ids"]
    }


def is_due(row: Mapping[str, Any], held: set[int]) -> bool:
    """Met by someone holding the badges `held`: the primary badge is not held yet, and enough
    distinct support badges are (a badge awarded twice counts once)."""
    if row["primary_badge_id"] in held:
        return False
    required: int = row["number_required"]
    return len(held.intersection(row["support_badge_ids"])) >= required
