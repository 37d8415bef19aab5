"""Reading a badge class or issuer URL back into its scope."""

from __future__ import annotations

from services.gateway.pages.places import place_of
from shared.messages.common import Scope

BASE = "https://badges.example.org"


def test_a_badge_at_each_level() -> None:
    assert place_of(BASE, f"{BASE}/public/systems/s/badges/b") == (Scope(system="s"), "b")
    assert place_of(BASE, f"{BASE}/public/systems/s/issuers/i/programs/p/badges/b") == (
        Scope(system="s", issuer="i", program="p"),
        "b",
    )


def test_an_issuer_profile() -> None:
    assert place_of(BASE, f"{BASE}/public/systems/s/issuers/i") == (
        Scope(system="s", issuer="i"),
        None,
    )


def test_anything_else_is_none() -> None:
    assert place_of(BASE, "https://elsewhere.example.org/public/systems/s/badges/b") is None
    assert place_of(BASE, f"{BASE}/public/assertions/a") is None
    assert place_of(BASE, f"{BASE}/public/systems/s/badges/b/extra") is None
