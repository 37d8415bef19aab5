"""Milestones: a primary badge awarded once enough of its support badges are held."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.handling import Context, Handler
from shared.messages.base import Message

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]


async def milestones_for_badge(ctx: Ctx, badge_id: int) -> list[dict[str, Any]]:
    """The milestones whose primary badge is `badge_id`, as responses show them."""
    return []


async def after_award(ctx: Ctx, badge: dict[str, Any], email: str) -> list[dict[str, Any]]:
    """Called in the transaction of every award of `badge` (a row of `repository.badges`) to
    `email`: award the primary badge of each milestone this award completes (in the same
    transaction, each with its own `badge.awarded` event), and return those new awards."""
    return []


HANDLERS: dict[type[Message], Handler[Deps]] = {}
