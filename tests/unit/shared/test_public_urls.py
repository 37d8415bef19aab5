"""The public URLs every service names alike (DESIGN.md)."""

from __future__ import annotations

from shared import public_urls

P = "https://badges.example.org"


def test_an_awards_documents() -> None:
    assert public_urls.assertion_url(P, "abc") == f"{P}/public/assertions/abc"
    assert public_urls.credential_url(P, "abc") == f"{P}/public/credentials/abc"


def test_profiles_and_badge_classes_at_each_level() -> None:
    assert public_urls.profile_url(P, "s", None, None) == f"{P}/public/systems/s"
    assert public_urls.profile_url(P, "s", "i", "p") == f"{P}/public/systems/s/issuers/i/programs/p"
    assert (
        public_urls.badge_class_url(P, "s", "i", None, "b")
        == f"{P}/public/systems/s/issuers/i/badges/b"
    )


def test_a_status_list() -> None:
    assert public_urls.status_list_url(P, "demo", "1") == f"{P}/public/systems/demo/status/1"
