"""Content negotiation as the public documents do it."""

from __future__ import annotations

import pytest

from shared.http import preferred

OFFERED = ("application/ld+json", "application/vc+jwt")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/ld+json"),
        ("", "application/ld+json"),
        ("*/*", "application/ld+json"),
        ("application/vc+jwt", "application/vc+jwt"),
        ("text/html, application/vc+jwt", "application/vc+jwt"),
        (
            "application/ld+json, application/json;q=0.9, application/vc+jwt;q=0.8",
            "application/ld+json",
        ),
        ("application/ld+json;q=0.5, application/vc+jwt", "application/vc+jwt"),
        ("application/*;q=0.2, application/vc+jwt;q=0.9", "application/vc+jwt"),
        ("application/vc+jwt;q=0, */*", "application/ld+json"),
        ("application/vc+jwt;q=0", "application/ld+json"),
        ("image/png", "application/ld+json"),
        ("APPLICATION/VC+JWT", "application/vc+jwt"),
        ("application/vc+jwt;q=oops", "application/ld+json"),
    ],
)
def test_the_preferred_form(accept: str | None, chosen: str) -> None:
    assert preferred(accept, OFFERED) == chosen
