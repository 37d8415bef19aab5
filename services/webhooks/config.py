"""The webhooks service's own constants; everything configurable is in `shared.config.Settings`."""

from __future__ import annotations

from pathlib import Path

SERVICE = "webhooks"
MIGRATIONS = Path(__file__).parent / "migrations"
