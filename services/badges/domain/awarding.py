"""The rules that decide how a badge is awarded, as functions over a typed view of the badge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import Conflict


@dataclass(frozen=True)
class AwardRules:
    """What of a badge decides how it is awarded."""

    slug: str
    archived: bool
    unique: bool
    # How many active awards the badge allows; None for no limit, which BadgeKit (and its web
    # app) also wrote as 0 (the 0 is kept as it was sent, and shown so).
    limit: int | None
    # Whether an award of it may complete a milestone (it is one's support badge).
    supports_milestone: bool

    @classmethod
    def of(cls, badge: Mapping[str, Any]) -> AwardRules:
        """The rules of a badge row (`repository.badges.SELECT`)."""
        return cls(
            slug=badge["slug"],
            archived=badge["archived"],
            unique=badge["is_unique"],
            limit=badge["award_limit"] or None,
            supports_milestone=bool(badge.get("supports_milestone")),
        )

    def check_awardable(self) -> None:
        """An archived badge is never awarded (BadgeKit awarded it)."""
        if self.archived:
            raise Conflict(f"Badge {self.slug} is archived and cannot be awarded")

    def commits_at_once(self, *, claim_code: bool, credential: bool) -> bool:
        """Whether an award is its insert and its events alone, and so can commit in one
        statement: no claim code to consume, no credential to start, no limit to count under
        the badge's lock, no milestone to follow up."""
        return not (claim_code or credential or self.limit is not None or self.supports_milestone)
