"""The templates, rendered straight from hostile data (what the API would refuse included):
everything escaped, only http(s) URLs as links, the landmarks and tags every page carries."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from services.gateway.pages.rendering import CONTENT_SECURITY_POLICY, Pages, long_date, safe_url
from services.gateway.pages.sharing import qr_svg
from services.gateway.pages.verdict import of_award, of_report

BASE = "https://badges.example.org"
SCRIPT = "<script>alert(1)</script>"
RTL = "\u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"
EMOJI = "\U0001f393\U0001f44d\U0001f3fd"
LONG = "y" * 10_240
HOSTILE = f"{SCRIPT} \"quoted\" 'single' {RTL} {EMOJI} {LONG}"
BAD_URLS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox",
    "//evil.example.org/x",
    "/relative",
    'https://example.org/"><script>alert(1)</script>',
    "https://example.org/\nx",
]


@pytest.fixture(scope="module")
def pages() -> Pages:
    return Pages(BASE)


class TestSafeUrl:
    @pytest.mark.parametrize("url", BAD_URLS)
    def test_only_http_urls_become_links(self, url: str) -> None:
        assert safe_url(url) is None

    def test_http_and_https(self) -> None:
        assert safe_url("https://example.org/a?b=c&d=e") == "https://example.org/a?b=c&d=e"
        assert safe_url(" http://example.org ") == "http://example.org"
        assert safe_url(None) is None
        assert safe_url(42) is None


def test_long_date() -> None:
    assert long_date("2024-05-01T12:00:00+00:00") == "1 May 2024"
    assert long_date("nonsense") == ""
    assert long_date(None) == ""


def award_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "title": HOSTILE,
        "og": {
            "title": HOSTILE,
            "description": HOSTILE,
            "url": f"{BASE}/public/assertions/abc",
            "image": safe_url("javascript:alert(1)"),
            "image_alt": HOSTILE,
        },
        "badge": {
            "name": HOSTILE,
            "description": HOSTILE,
            "image": "javascript:alert(1)",
            "criteria": {"id": "javascript:alert(2)"},
            "issuer": f"{BASE}/public/systems/s",
        },
        "issuer": {"name": HOSTILE},
        "issuer_page": f"{BASE}/public/systems/s",
        "badge_page": f"{BASE}/public/systems/s/badges/b",
        "earner": HOSTILE,
        "issued_on": "2024-05-01T12:00:00+00:00",
        "expires": None,
        "evidence": "javascript:alert(3)",
        "narrative": None,
        "revoked": False,
        "revocation_reason": None,
        "verdict": of_award(None, revoked=False, expires=None),
        "share_url": f"{BASE}/public/assertions/abc",
        "linkedin": "https://www.linkedin.com/profile/add?name=x",
        "qr": qr_svg(f"{BASE}/public/assertions/abc"),
        "downloads": {
            kind: f"{BASE}/public/credentials/abc/{kind}"
            for kind in ("png", "svg", "ob3", "jwt", "ob2")
        },
        "slug": "abc",
    }
    context.update(overrides)
    return context


def assert_safe(page: str) -> None:
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r'(href|src|content)="\s*(javascript|data:text|vbscript)', page, re.I)
    assert "javascript:alert" not in re.sub(r">[^<]*<", "><", page)  # never in a tag
    assert RTL in page
    assert EMOJI in page
    # No inline script or style: the policy forbids them and the page needs none.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


def assert_accessible_shape(page: str) -> None:
    assert page.startswith("<!doctype html>")
    assert '<html lang="en"' in page
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert "<header" in page
    assert "<footer" in page
    assert page.count("<h1") == 1
    headings = [int(level) for level in re.findall(r"<h([1-6])", page)]
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings)), headings
    for tag in re.findall(r"<img [^>]*>", page):
        assert 'alt="' in tag, tag
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


class TestAwardPage:
    def test_hostile_strings_are_escaped_and_bad_urls_are_no_links(self, pages: Pages) -> None:
        page = pages.render("award", **award_context()).text
        assert page is not None
        assert_safe(page)
        assert_accessible_shape(page)
        assert LONG in page
        assert 'id="criteria-link" class="not-a-link"' in page
        assert 'id="evidence-link" class="not-a-link"' in page
        # A badge image that is no http(s) URL is replaced by our own.
        assert re.search(
            r'<img id="badge-image" class="badge-image" src="/public/static/badge\.', page
        )

    def test_open_graph_and_twitter_tags(self, pages: Pages) -> None:
        page = pages.render("award", **award_context()).text
        assert page is not None
        for name in ("og:title", "og:description", "og:url", "og:image", "twitter:card"):
            assert re.search(rf'<meta (property|name)="{name}" content="[^"]+">', page), name
        # No image of its own: ours, as an absolute URL.
        ours = rf"{BASE}/public/static/badge\.[0-9a-f]{{12}}\.svg"
        assert re.search(rf'<meta property="og:image" content="{ours}">', page)
        assert '<meta name="twitter:card" content="summary">' in page

    def test_the_elements_browser_tests_use(self, pages: Pages) -> None:
        page = pages.render("award", **award_context()).text
        assert page is not None
        for element in (
            "award",
            "badge-name",
            "badge-image",
            "earner-name",
            "issuer-link",
            "issued-on",
            "expires",
            "verification",
            "verification-status",
            "download-png",
            "download-svg",
            "download-ob3",
            "download-jwt",
            "download-ob2",
            "linkedin-add",
            "share-url",
            "copy-link",
            "qr-code",
        ):
            assert f'id="{element}"' in page, element
        assert '<label for="share-url">' in page

    def test_a_revoked_award_says_so_and_offers_nothing_to_share(self, pages: Pages) -> None:
        context = award_context(
            revoked=True,
            revocation_reason=SCRIPT,
            verdict=of_award(None, revoked=True, expires=None),
        )
        response = pages.render("award", status=410, **context)
        assert response.status == 410
        page = response.text
        assert page is not None
        assert 'id="revoked-notice"' in page
        assert 'data-status="revoked"' in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert 'id="download-png"' not in page
        assert 'id="linkedin-add"' not in page

    def test_a_narrative_is_text_beside_the_evidence(self, pages: Pages) -> None:
        """The award's narrative is Markdown, shown as it was written: escaped, never rendered
        (its line breaks kept by the `prose` class)."""
        page = pages.render("award", **award_context(narrative=f"{HOSTILE}\n**bold**")).text
        assert page is not None
        assert_safe(page)
        shown = re.search(r"<dt>Evidence</dt>\s*<dd>(.*?)</dd>", page, re.S)
        assert shown is not None
        assert shown.group(1).startswith('<span id="evidence-link" class="not-a-link">')
        narrative = re.search(
            r'<p id="narrative" class="prose narrative" dir="auto">(.*?)</p>', page, re.S
        )
        assert narrative is not None
        assert narrative.group(1).startswith("&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted")
        assert narrative.group(1).endswith("\n**bold**")

    def test_a_narrative_without_evidence_and_neither(self, pages: Pages) -> None:
        told = pages.render("award", **award_context(evidence=None, narrative="Read it")).text
        assert told is not None
        assert re.search(
            r'<dt>Evidence</dt>\s*<dd><p id="narrative" class="prose narrative" dir="auto">'
            r"Read it</p></dd>",
            told,
        )
        assert 'id="evidence-link"' not in told
        neither = pages.render("award", **award_context(evidence=None)).text
        assert neither is not None
        assert "<dt>Evidence</dt>" not in neither

    def test_no_name_no_earner(self, pages: Pages) -> None:
        page = pages.render("award", **award_context(earner=None)).text
        assert page is not None
        assert 'id="earner"' not in page


class TestOtherPages:
    def test_badge_page(self, pages: Pages) -> None:
        badge = {
            "id": f"{BASE}/public/systems/s/badges/b",
            "name": HOSTILE,
            "description": HOSTILE,
            "image": "https://example.org/badge.png",
            "criteria": {"id": "javascript:alert(1)"},
            "issuer": f"{BASE}/public/systems/s",
            "alignment": [
                {"targetName": HOSTILE, "targetUrl": "javascript:alert(2)"},
                {"targetName": "Fine", "targetUrl": "https://example.org/fine"},
            ],
            "tags": [HOSTILE],
        }
        og = {"title": HOSTILE, "description": HOSTILE, "url": badge["id"], "image": None}
        page = pages.render(
            "badge", title=HOSTILE, og=og, badge=badge, issuer={"name": HOSTILE}
        ).text
        assert page is not None
        assert_safe(page)
        assert_accessible_shape(page)
        assert 'href="https://example.org/fine"' in page
        assert (
            '<img id="badge-image" class="badge-image" src="https://example.org/badge.png"' in page
        )

    def test_issuer_page(self, pages: Pages) -> None:
        issuer = {
            "id": f"{BASE}/public/systems/s",
            "name": HOSTILE,
            "description": HOSTILE,
            "url": "javascript:alert(1)",
            "image": "javascript:alert(2)",
            "email": "contact@example.org",
        }
        badges = [
            {
                "name": HOSTILE,
                "image": "https://example.org/b.png",
                "description": HOSTILE,
                "url": f"{BASE}/public/systems/s/badges/b",
            }
        ]
        og = {"title": HOSTILE, "description": HOSTILE, "url": issuer["id"], "image": None}
        page = pages.render(
            "issuer", title=HOSTILE, og=og, issuer=issuer, badges=badges, more=False
        ).text
        assert page is not None
        assert_safe(page)
        assert_accessible_shape(page)
        assert f'href="{BASE}/public/systems/s/badges/b"' in page
        assert 'id="issuer-website"' not in page
        assert 'id="issuer-image"' not in page

    def test_verify_page_with_a_report(self, pages: Pages) -> None:
        report = {
            "verified": False,
            "kind": "ob3-ldp",
            "credential": {
                "issuer": {"id": "did:web:x", "name": HOSTILE},
                "achievement": {"id": None, "name": HOSTILE},
                "validFrom": "2024-01-01T00:00:00Z",
                "validUntil": None,
            },
            "checks": [{"check": "proof", "outcome": "failed", "message": HOSTILE}],
        }
        og = {"title": "Verify", "description": "d", "url": f"{BASE}/public/verify", "image": None}
        page = pages.render(
            "verify",
            title="Verify a badge",
            og=og,
            action="/public/verify?format=html",
            report=report,
            verdict=of_report(report),
            problem=None,
        ).text
        assert page is not None
        assert_safe(page)
        assert_accessible_shape(page)
        for field in ("verify-url", "verify-credential", "verify-file"):
            assert f'<label for="{field}">' in page
        assert 'data-status="invalid"' in page


def test_the_policy_allows_no_inline_code() -> None:
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
