"""The badges service's own constants; everything configurable is in `shared.config.Settings`."""

from __future__ import annotations

from pathlib import Path

SERVICE = "badges"
MIGRATIONS = Path(__file__).parent / "migrations"

# API keys are public identifiers (the JWT `key` claim); secrets sign tokens and are long.
API_KEY_BYTES = 16
API_SECRET_BYTES = 32
