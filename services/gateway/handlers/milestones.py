"""Milestones of a system (filled in by the BadgeKit API issue)."""

from __future__ import annotations

from services.gateway.routes import Route

ROUTES: list[Route] = []
