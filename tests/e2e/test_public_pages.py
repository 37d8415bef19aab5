"""The public pages through the running system: a browser (or a link-preview crawler) opening an
award, badge or issuer URL gets a page, every other client the JSON it always got; the award
page's facts, verification, downloads and share links; the verification page's form; escaping
of hostile strings; the security and cache headers of every page."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.test_baked_badges import data_url
from tests.e2e.test_instances_api import award, email, in_days
from tests.e2e.test_public_documents import PIXEL, public_path
from tests.support.client import Client, multipart
from tests.support.events import eventually
from tests.support.factories import make_badge, make_issuer, make_program, make_system

pytestmark = pytest.mark.e2e

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HOSTILE_NAME = "<script>alert('name')</script> \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \U0001f393"
# As long as a description may be (10,000 characters), with what goes around it.
LONG = "x" * 9_900
ESCAPING_URL = 'https://example.org/"><script>alert(1)</script>'
ARABIC = "\u0645\u0631\u062d\u0628\u0627 \U0001f44d"


async def get(
    client: Client, url: str, accept: str | None = BROWSER, **headers: str
) -> tuple[int, str, Any]:
    if accept is not None:
        headers["Accept"] = accept
    path = public_path(url, client) if url.startswith("http") else url
    async with client.session.get(client.base_url + path, headers=headers) as response:
        return response.status, await response.text(), response.headers


def meta(page: str, name: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', page)
    assert found, f"no {name} meta tag"
    return html.unescape(found.group(1))


def by_id(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z0-9]+ [^>]*id="{re.escape(element_id)}"[^>]*>', page)
    assert found, f"no element #{element_id}"
    return found.group(0)


def href_of(page: str, element_id: str) -> str:
    found = re.search(r'href="([^"]*)"', by_id(page, element_id))
    assert found, f"#{element_id} has no href"
    return html.unescape(found.group(1))


def verification_status(page: str) -> str:
    found = re.search(r'id="verification"[^>]*data-status="([a-z-]+)"', page)
    assert found, "no verification panel"
    return found.group(1)


async def signed_award_page(client: Client, url: str) -> str:
    """The award page once its credential is signed (its panel no longer `pending`)."""

    async def ready() -> str | None:
        status, page, _ = await get(client, url)
        assert status == 200, page
        return page if verification_status(page) != "pending" else None

    page: str = await eventually(ready, "the award's credential to be signed")
    return page


class TestNegotiation:
    async def test_a_browser_gets_the_award_page_and_a_json_client_the_same_json(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        url = instance["assertionUrl"]
        _, json_body, _ = await get(client, url, accept=None)
        for accept in (None, "*/*", "application/json", "text/html;q=0.5, application/json"):
            status, body, headers = await get(client, url, accept=accept)
            assert status == 200
            assert headers["Content-Type"].startswith("application/json"), accept
            assert body == json_body
            assert headers["Vary"] == "Accept, User-Agent"
            assert headers["Cache-Control"] == "public, max-age=60"
        status, page, headers = await get(client, url)
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Vary"] == "Accept, User-Agent"
        assert "max-age=60" in headers["Cache-Control"]
        assert 'id="award"' in page

    async def test_format_overrides_the_headers(self, client: Client) -> None:
        badge = await make_badge(client)
        url = (await award(client, badge, email()))["assertionUrl"]
        _, body, headers = await get(client, url + "?format=json")
        assert headers["Content-Type"].startswith("application/json")
        assert '"type":"Assertion"' in body
        _, page, headers = await get(client, url + "?format=html", accept="application/json")
        assert headers["Content-Type"].startswith("text/html")
        assert 'id="award"' in page

    @pytest.mark.parametrize(
        "agent",
        [
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "WhatsApp/2.23.20.0",
            "TelegramBot (like TwitterBot)",
        ],
    )
    async def test_link_preview_crawlers_get_the_page(self, client: Client, agent: str) -> None:
        badge = await make_badge(client)
        url = (await award(client, badge, email()))["assertionUrl"]
        status, page, headers = await get(client, url, accept="*/*", **{"User-Agent": agent})
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert meta(page, "og:url") == url

    async def test_the_credential_url_keeps_json_ld_and_vc_jwt(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        url = instance["openBadgeCredentialUrl"]
        await signed_award_page(client, url)
        _, _, headers = await get(client, url, accept="application/ld+json")
        assert headers["Content-Type"].startswith("application/ld+json")
        assert headers["Vary"] == "Accept, User-Agent"
        _, token, headers = await get(client, url, accept="application/vc+jwt")
        assert headers["Content-Type"] == "application/vc+jwt"
        assert token.count(".") == 2
        status, page, headers = await get(client, url)
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert 'id="award"' in page

    async def test_badge_class_and_issuer_urls(self, client: Client) -> None:
        program = await make_program(client)
        badge = await make_badge(
            client,
            program,
            alignments=[{"name": "Literacy", "url": "https://example.org/lit"}],
        )
        status, page, headers = await get(client, f"/public{badge}")
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Vary"] == "Accept, User-Agent"
        assert '<h1 id="badge-name" dir="auto">Reading Champion</h1>' in page
        assert href_of(page, "criteria-link") == "https://example.org/criteria"
        assert 'href="https://example.org/lit"' in page
        assert href_of(page, "issuer-link") == f"{client.base_url}/public{program}"
        status, page, _ = await get(client, f"/public{program}")
        assert status == 200
        assert f'href="{client.base_url}/public{badge}"' in page
        status, body, headers = await get(client, f"/public{program}", accept="application/json")
        assert headers["Content-Type"].startswith("application/json")
        assert '"type":"Issuer"' in body


class TestAwardPage:
    async def test_the_facts_downloads_and_share_links(self, client: Client) -> None:
        issuer = await make_issuer(client)
        badge = await make_badge(client, issuer)
        recipient = email()
        expires = in_days(400).replace(microsecond=0)
        instance = await award(
            client,
            badge,
            recipient,
            issuedOn="2024-05-01T12:00:00Z",
            expires=expires.isoformat(),
            evidence="https://example.org/portfolio",
        )
        page = await signed_award_page(client, instance["assertionUrl"])
        assert recipient not in page
        assert 'id="earner"' not in page  # the award carries no name
        assert '<time id="issued-on" datetime="2024-05-01T12:00:00+00:00">1 May 2024</time>' in page
        assert f"{expires.day} {expires:%B %Y}" in page
        assert href_of(page, "evidence-link") == "https://example.org/portfolio"
        assert href_of(page, "issuer-link") == f"{client.base_url}/public{issuer}"
        assert verification_status(page) == "valid"
        assert 'data-check="proof" data-outcome="passed"' in page
        credential = instance["openBadgeCredentialUrl"]
        assert href_of(page, "download-png") == f"{credential}/badge.png"
        assert href_of(page, "download-svg") == f"{credential}/badge.svg"
        assert href_of(page, "download-ob3") == f"{credential}?format=json"
        assert href_of(page, "download-jwt") == f"{credential}.jwt"
        assert href_of(page, "download-ob2") == f"{instance['assertionUrl']}?format=json"
        linkedin = urlsplit(href_of(page, "linkedin-add"))
        assert (linkedin.netloc, linkedin.path) == ("www.linkedin.com", "/profile/add")
        assert parse_qs(linkedin.query) == {
            "startTask": ["CERTIFICATION_NAME"],
            "name": ["Reading Champion"],
            "organizationName": [f"Name of {issuer.rsplit('/', 1)[1]}"],
            "issueYear": ["2024"],
            "issueMonth": ["5"],
            "expirationYear": [str(expires.year)],
            "expirationMonth": [str(expires.month)],
            "certUrl": [instance["assertionUrl"]],
            "certId": [instance["slug"]],
        }
        assert f'value="{instance["assertionUrl"]}"' in by_id(page, "share-url")
        assert '<svg role="img"' in page.split('id="qr-code"', 1)[1]
        assert meta(page, "og:title").startswith("Reading Champion")
        assert meta(page, "og:image") == "https://example.org/badge.png"
        assert meta(page, "og:url") == instance["assertionUrl"]
        assert meta(page, "twitter:card") == "summary"

    async def test_the_downloads_are_what_they_say(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        page = await signed_award_page(client, instance["assertionUrl"])
        for element, content_type in (
            ("download-ob3", "application/ld+json"),
            ("download-jwt", "application/vc+jwt"),
            ("download-ob2", "application/json"),
        ):
            status, _, headers = await get(client, href_of(page, element))
            assert status == 200, element
            assert headers["Content-Type"].startswith(content_type), element

    async def test_the_earners_name_only_where_the_award_carries_one(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email(), name="Ada Lovelace")
        _, page, _ = await get(client, instance["assertionUrl"])
        assert '<bdi id="earner-name">Ada Lovelace</bdi>' in page
        assert "Ada Lovelace" in meta(page, "og:title")

    async def test_a_revoked_award_says_so_within_seconds(self, client: Client) -> None:
        badge = await make_badge(client)
        recipient = email()
        instance = await award(client, badge, recipient)
        url = instance["assertionUrl"]
        await signed_award_page(client, url)  # cached by the gateway from here on
        answer = await client.delete(f"{badge}/instances/{recipient}")
        assert answer.status == 200
        for each in (url, instance["openBadgeCredentialUrl"]):

            async def revoked(each: str = each) -> tuple[int, str] | None:
                status, page, _ = await get(client, each)
                return (status, page) if 'id="revoked-notice"' in page else None

            status, page = await eventually(revoked, "the page to show the revocation", 10)
            assert status == 410
            assert verification_status(page) == "revoked"
            assert "This badge has been revoked" in page
            assert 'id="download-png"' not in page
        status, body, _ = await get(client, url, accept="application/json")
        assert status == 410
        assert '"revoked":true' in body

    async def test_an_unknown_award_is_a_404_page_for_browsers_only(self, client: Client) -> None:
        status, page, headers = await get(client, "/public/assertions/no-such-award")
        assert status == 404
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Vary"] == "Accept, User-Agent"
        assert 'id="error"' in page
        status, body, headers = await get(client, "/public/assertions/no-such-award", None)
        assert status == 404
        assert headers["Content-Type"].startswith("application/json")
        assert '"code":"ResourceNotFound"' in body


class TestHostileContent:
    async def test_names_descriptions_and_urls_are_escaped(self, client: Client) -> None:
        """What the API takes at its limits: markup in names, 10 kB descriptions, URLs that try
        to leave their attribute (`javascript:` URLs never get through the API; the unit tests
        of the templates feed them in directly)."""
        system = await make_system(client, name=HOSTILE_NAME, description=ARABIC)
        badge = await make_badge(
            client,
            system,
            name=HOSTILE_NAME,
            consumerDescription=f"<img src=x onerror=alert(1)> {LONG} {ARABIC}",
            criteriaUrl=ESCAPING_URL,
            alignments=[{"name": "<b>bold</b>", "url": ESCAPING_URL}],
        )
        instance = await award(client, badge, email(), evidence=ESCAPING_URL)
        pages = [(await get(client, instance["assertionUrl"]))[1]]
        pages.append((await get(client, f"/public{badge}"))[1])
        pages.append((await get(client, f"/public{system}"))[1])
        for page in pages:
            assert "<script>alert" not in page
            assert "<img src=x" not in page
            assert "<b>bold</b>" not in page
            assert '"><script>' not in page
            assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
            assert "\U0001f393" in page
        award_page, badge_page, _ = pages
        assert ARABIC in award_page
        assert LONG in award_page
        assert LONG in badge_page
        assert 'id="criteria-link" class="not-a-link"' in award_page
        assert 'id="evidence-link" class="not-a-link"' in award_page


class TestPageHeaders:
    async def test_pages_have_a_strict_policy_and_no_inline_script_or_style(
        self, client: Client
    ) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        for url in (instance["assertionUrl"], f"/public{badge}", "/public/verify"):
            status, page, headers = await get(client, url)
            assert status == 200
            policy = headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy
            assert "script-src 'self'" in policy
            assert "'unsafe-inline'" not in policy
            assert "frame-ancestors 'none'" in policy
            assert '<html lang="en"' in page
            assert not re.search(r"<script(?![^>]*\bsrc=)", page)
            assert "style=" not in page
            assert "<style" not in page
            for attribute in ("onclick", "onload", "onerror"):
                assert attribute not in page

    async def test_static_files_are_served_for_good(self, client: Client) -> None:
        _, page, _ = await get(client, "/public/verify")
        stylesheet = re.search(r'href="(/public/static/pages\.[0-9a-f]{12}\.css)"', page)
        script = re.search(r'src="(/public/static/pages\.[0-9a-f]{12}\.js)"', page)
        assert stylesheet
        assert script
        for path, content_type in ((stylesheet[1], "text/css"), (script[1], "text/javascript")):
            status, body, headers = await get(client, path, accept=None)
            assert status == 200
            assert headers["Content-Type"].startswith(content_type)
            assert "immutable" in headers["Cache-Control"]
            assert body
        status, _, _ = await get(client, "/public/static/pages.000000000000.css", accept=None)
        assert status == 404


class TestVerificationPage:
    async def test_the_form_posts_to_the_verifier_and_reads_the_report(
        self, client: Client
    ) -> None:
        status, page, _ = await get(client, "/public/verify")
        assert status == 200
        assert 'id="verify-form"' in page
        assert 'action="/public/verify?format=html"' in page
        assert 'enctype="multipart/form-data"' in page
        for field in ("verify-url", "verify-credential", "verify-file"):
            assert f'<label for="{field}">' in page
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        await signed_award_page(client, instance["assertionUrl"])
        body, content_type = multipart(
            {"url": instance["openBadgeCredentialUrl"], "credential": ""},
            {"file": ("", b"")},
        )
        answer = await client.post(
            "/public/verify?format=html",
            raw=body,
            content_type=content_type,
            headers={"Accept": BROWSER},
            sign=False,
        )
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/html")
        assert verification_status(answer.body) == "valid"
        assert 'data-verified="true"' in answer.body

    async def test_a_pasted_vc_jwt_and_an_uploaded_baked_image(self, client: Client) -> None:
        badge = await make_badge(client, image=data_url(PIXEL, "image/png"))
        instance = await award(client, badge, email())
        await signed_award_page(client, instance["assertionUrl"])
        credential = public_path(instance["openBadgeCredentialUrl"], client)
        token = (await client.get(credential + ".jwt", sign=False)).body
        async with client.session.get(f"{client.base_url}{credential}/badge.svg") as response:
            assert response.status == 200
            baked = await response.read()
        for fields, files in (
            ({"url": "", "credential": token}, {"file": ("", b"")}),
            ({"url": "", "credential": ""}, {"file": ("badge.svg", baked)}),
        ):
            body, content_type = multipart(fields, files)
            answer = await client.post(
                "/public/verify",
                raw=body,
                content_type=content_type,
                headers={"Accept": BROWSER},
                sign=False,
            )
            assert answer.status == 200, answer.body
            assert verification_status(answer.body) == "valid"

    async def test_an_empty_form_says_what_is_missing(self, client: Client) -> None:
        body, content_type = multipart({"url": "", "credential": ""}, {"file": ("", b"")})
        answer = await client.post(
            "/public/verify?format=html", raw=body, content_type=content_type, sign=False
        )
        assert answer.status == 400
        assert answer.headers["Content-Type"].startswith("text/html")
        assert 'id="verify-problem"' in answer.body
        assert 'id="verify-form"' in answer.body

    async def test_json_clients_keep_the_json_report(self, client: Client) -> None:
        badge = await make_badge(client)
        instance = await award(client, badge, email())
        await signed_award_page(client, instance["assertionUrl"])
        answer = await client.post(
            "/public/verify", json={"url": instance["openBadgeCredentialUrl"]}, sign=False
        )
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.body["verified"] is True
