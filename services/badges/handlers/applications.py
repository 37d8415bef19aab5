"""applications (filled in by the BadgeKit API issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.handling import Handler
from shared.messages.base import Message

if TYPE_CHECKING:
    from services.badges.app import Deps

HANDLERS: dict[type[Message], Handler[Deps]] = {}
