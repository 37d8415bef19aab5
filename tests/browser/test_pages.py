"""The public pages in Chromium: the award page (its facts, verification panel, downloads, share
links, QR code and copy button), the badge, issuer and verification pages, a revoked award, an
unknown one, and hostile data; each without JavaScript, at a phone's width, in print, under axe-core
(WCAG 2.2 AA) and the pages' Content-Security-Policy. The data is set up once for the module; each
test loads a page once and checks several things on it. Nothing outside the machine is contacted:
every context aborts requests to other hosts, and the LinkedIn link is parsed, never followed."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest_asyncio
from PIL import Image, ImageDraw
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Response,
    Route,
    expect,
)

from tests.e2e.test_baked_badges import data_url
from tests.e2e.test_instances_api import award, email, in_days
from tests.e2e.test_public_pages import signed_award_page
from tests.support.browser import PHONE, axe_violations, describe, screenshots
from tests.support.client import Client
from tests.support.factories import created, make_badge, make_system, organization_body, unique
from tests.support.stack import Stack

EARNER = "Ada Lovelace"
SYSTEM_NAME = "Riverside Reading Network"
ISSUER_NAME = "Riverside Public Library"
ISSUED_ON = "2024-05-01T12:00:00Z"
EVIDENCE = "https://example.org/portfolio"
CRITERIA = "https://example.org/criteria"
ALIGNMENT = {"name": "Literacy", "url": "https://example.org/literacy"}
DESCRIPTION = "The earner read twenty books this summer."
HOSTILE_NAME = "<script>alert(1)</script> \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \U0001f393"
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(2)> \u0645\u0631\u062d\u0628\u0627 \U0001f44d"
ESCAPING_URL = 'https://example.org/"><script>alert(3)</script>'
JAVASCRIPT_URL = "javascript:alert(4)"
# A description as long as the API takes (10,000 characters), in one unbreakable word.
LONG = "x" * 9_900
# How long a revocation may take to reach the page (DESIGN.md, Public pages: 10 s).
REVOCATION_S = 10.0


def badge_png() -> bytes:
    """A 256 px badge (a gold medal on a ribbon), so that the screenshots show one."""
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon([(78, 0), (128, 0), (150, 120), (100, 120)], fill=(29, 78, 216))
    draw.polygon([(128, 0), (178, 0), (156, 120), (106, 120)], fill=(220, 38, 38))
    draw.ellipse((38, 86, 218, 246), fill=(180, 83, 9))
    draw.ellipse((54, 102, 202, 230), fill=(251, 191, 36))
    draw.regular_polygon((128, 166, 46), 5, rotation=180, fill=(255, 251, 235))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


@dataclass
class World:
    """What the pages show: one issuer's badge, awarded twice (with the earner's name, an expiry
    and evidence; and without), through a client of the module's own."""

    client: Client
    system: str
    issuer: str
    badge: str
    named: dict[str, Any]
    named_email: str
    expires: datetime
    plain: dict[str, Any]
    plain_email: str

    @property
    def issuer_slug(self) -> str:
        return self.issuer.rsplit("/", 1)[1]

    def url(self, path: str) -> str:
        return f"{self.client.base_url}/public{path}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(stack: Stack) -> AsyncIterator[World]:
    async with aiohttp.ClientSession() as session:
        client = Client(session, stack.base_url, stack.settings.master_secret_value)
        system = await make_system(client, name=SYSTEM_NAME)
        issuer_slug = unique("iss")
        await created(
            client,
            f"{system}/issuers",
            organization_body(issuer_slug, name=ISSUER_NAME),
            "issuer",
        )
        issuer = f"{system}/issuers/{issuer_slug}"
        badge = await make_badge(
            client,
            issuer,
            image=data_url(badge_png(), "image/png"),
            criteriaUrl=CRITERIA,
            alignments=[ALIGNMENT],
        )
        named_email, plain_email = email(), email()
        expires = in_days(400).replace(microsecond=0)
        named = await award(
            client,
            badge,
            named_email,
            name=EARNER,
            issuedOn=ISSUED_ON,
            expires=expires.isoformat(),
            evidence=EVIDENCE,
        )
        plain = await award(client, badge, plain_email)
        for instance in (named, plain):
            await signed_award_page(client, instance["assertionUrl"])
        yield World(client, system, issuer, badge, named, named_email, expires, plain, plain_email)


async def keep_local(context: BrowserContext, base_url: str) -> list[str]:
    """Abort every request the context makes to another host; the URLs it tried."""
    tried: list[str] = []

    async def refuse(route: Route) -> None:
        tried.append(route.request.url)
        await route.abort()

    await context.route(lambda url: not url.startswith(f"{base_url}/"), refuse)
    return tried


@pytest_asyncio.fixture(loop_scope="session")
async def outside(page: Page, base_url: str) -> AsyncIterator[list[str]]:
    """Requests `page` tried to send off the machine (none: asserted after the test)."""
    tried = await keep_local(page.context, base_url)
    yield tried
    assert tried == [], f"the page tried to reach {tried}"


@pytest_asyncio.fixture(loop_scope="session")
async def plain(
    new_context: Callable[..., Awaitable[BrowserContext]], base_url: str
) -> AsyncIterator[Page]:
    """A page without JavaScript, in a context of its own, kept on this machine too."""
    context = await new_context(java_script_enabled=False)
    tried = await keep_local(context, base_url)
    yield await context.new_page()
    assert tried == [], f"the page tried to reach {tried}"


async def open_page(page: Page, url: str, status: int = 200) -> Response:
    response = await page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}"
    assert response.headers["content-type"].startswith("text/html")
    return response


async def accessible(page: Page) -> None:
    violations = await axe_violations(page)
    assert violations == [], describe(violations)


async def href(page: Page, selector: str) -> str:
    found = await page.locator(selector).get_attribute("href")
    assert found is not None, f"{selector} has no href"
    return found


async def meta(page: Page, name: str) -> str:
    """The content of the page's `<meta property|name=...>`."""
    tag = page.locator(f'meta[property="{name}"], meta[name="{name}"]')
    await expect(tag).to_have_count(1)
    content = await tag.get_attribute("content")
    assert content is not None, name
    return content


async def fits(page: Page, width: int) -> None:
    """No horizontal scroll at this width."""
    scroll_width = await page.evaluate("() => document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width} px > {width}"


async def verify_bytes(world: World, data: bytes, content_type: str) -> dict[str, Any]:
    answer = await world.client.post(
        "/public/verify", raw=data, content_type=content_type, sign=False
    )
    assert answer.status == 200, answer.body
    report: dict[str, Any] = answer.body
    return report


def long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


# --- the award page ---------------------------------------------------------------------------


async def test_the_award_page_shows_the_facts(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    url = world.named["assertionUrl"]
    response = await open_page(page, url)
    award_page = page.locator("#award")
    await expect(award_page).to_have_attribute("data-slug", world.named["slug"])
    await expect(award_page).to_have_attribute("data-revoked", "false")
    await expect(page.locator("h1")).to_have_count(1)
    # The first Tab shows the skip link, which moves the focus to the main content.
    await page.keyboard.press("Tab")
    await expect(page.locator(".skip-link")).to_be_focused()
    await expect(page.locator(".skip-link")).to_be_in_viewport()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    await expect(page.locator("#badge-name")).to_have_text("Reading Champion")
    await expect(page.locator("#badge-description")).to_have_text(DESCRIPTION)
    await expect(page.locator("#badge-image")).to_have_attribute("alt", re.compile("Reading"))
    assert await page.locator("#badge-image").evaluate("image => image.naturalWidth") == 256
    await expect(page.locator("#earner-name")).to_have_text(EARNER)
    await expect(page.locator("#issuer-link")).to_have_text(ISSUER_NAME)
    assert await href(page, "#issuer-link") == world.url(world.issuer)
    assert await href(page, "#badge-link") == world.url(world.badge)
    assert await href(page, "#criteria-link") == CRITERIA
    assert await href(page, "#evidence-link") == EVIDENCE
    await expect(page.locator("#issued-on")).to_have_text("1 May 2024")
    await expect(page.locator("#issued-on")).to_have_attribute(
        "datetime", "2024-05-01T12:00:00+00:00"
    )
    await expect(page.locator("#expires")).to_have_text(long_date(world.expires))
    panel = page.locator("#verification")
    await expect(panel).to_have_attribute("data-status", "valid")
    await expect(page.locator("#verification-status")).to_have_text("Valid")
    await expect(page.locator("#verification-explanation")).to_contain_text("signature")
    checks = page.locator("#verification-checks li")
    await expect(checks.first).to_be_hidden()
    await page.get_by_text("What was checked").click()
    await expect(checks.first).to_be_visible()
    await expect(panel.locator('li[data-check="proof"]')).to_have_attribute(
        "data-outcome", "passed"
    )
    await expect(panel.locator('li[data-outcome="failed"]')).to_have_count(0)
    for html in (await response.text(), await page.content()):
        assert world.named_email not in html
        assert world.named_email.split("@")[0] not in html

    # Link previews: Open Graph and Twitter card tags, with the badge's own image.
    assert await meta(page, "og:url") == url
    title = await meta(page, "og:title")
    assert title.startswith("Reading Champion")
    assert EARNER in title
    assert await meta(page, "twitter:card") == "summary"
    image = await meta(page, "og:image")
    assert image == await meta(page, "twitter:image")
    assert image.startswith(f"{world.client.base_url}/")
    fetched = await page.request.get(image)
    assert fetched.status == 200
    assert fetched.headers["content-type"] == "image/png"
    await accessible(page)
    await screenshots(page, "award")

    # The issuer's link opens the issuer page, which lists the badge.
    await page.locator("#issuer-link").click()
    await expect(page).to_have_url(world.url(world.issuer))
    await expect(page.locator("#issuer-name")).to_have_text(ISSUER_NAME)
    assert csp_reports == []


async def test_the_credential_url_shows_an_award_without_name_or_expiry(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    await open_page(page, world.plain["openBadgeCredentialUrl"])
    await expect(page.locator("#award")).to_have_attribute("data-slug", world.plain["slug"])
    await expect(page.locator("#badge-name")).to_have_text("Reading Champion")
    await expect(page.locator("#earner")).to_have_count(0)
    await expect(page.locator("#expires")).to_have_text("Never")
    await expect(page.locator("#evidence-link")).to_have_count(0)
    await expect(page.locator("#verification")).to_have_attribute("data-status", "valid")
    content = await page.content()
    assert world.plain_email not in content
    assert EARNER not in content
    linkedin = parse_qs(urlsplit(await href(page, "#linkedin-add")).query)
    assert "expirationYear" not in linkedin
    assert "expirationMonth" not in linkedin
    assert linkedin["certId"] == [world.plain["slug"]]
    await accessible(page)
    await screenshots(page, "award-credential")
    assert csp_reports == []


async def test_the_downloads_work_and_the_baked_png_verifies(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    instance = world.named
    await open_page(page, instance["assertionUrl"])
    credential = instance["openBadgeCredentialUrl"]

    async with page.expect_download() as downloading:
        await page.locator("#download-png").click()
    download = await downloading.value
    assert download.url == f"{credential}/badge.png"
    assert download.suggested_filename == f"{instance['slug']}.png"
    png = (await download.path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    report = await verify_bytes(world, png, "image/png")
    assert report["verified"] is True, report
    assert report["kind"] == "ob3-ldp"

    async with page.expect_download() as downloading:
        await page.locator("#download-svg").click()
    svg = (await (await downloading.value).path()).read_bytes()
    report = await verify_bytes(world, svg, "image/svg+xml")
    assert report["verified"] is True, report

    for selector, content_type in (
        ("#download-ob3", "application/ld+json"),
        ("#download-jwt", "application/vc+jwt"),
        ("#download-ob2", "application/json"),
    ):
        link = await href(page, selector)
        answer = await page.request.get(link)
        assert answer.status == 200, selector
        assert answer.headers["content-type"].startswith(content_type), selector
        async with page.expect_download() as downloading:
            await page.locator(selector).click()
        assert (await downloading.value).url == link
    assert csp_reports == []


async def test_the_linkedin_link_carries_the_certification(
    page: Page, outside: list[str], world: World
) -> None:
    instance = world.named
    await open_page(page, instance["assertionUrl"])
    await expect(page.locator("#linkedin-add")).to_be_visible()
    linkedin = urlsplit(await href(page, "#linkedin-add"))
    assert (linkedin.scheme, linkedin.netloc, linkedin.path) == (
        "https",
        "www.linkedin.com",
        "/profile/add",
    )
    assert parse_qs(linkedin.query) == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Reading Champion"],
        "organizationName": [ISSUER_NAME],
        "issueYear": ["2024"],
        "issueMonth": ["5"],
        "expirationYear": [str(world.expires.year)],
        "expirationMonth": [str(world.expires.month)],
        "certUrl": [instance["assertionUrl"]],
        "certId": [instance["slug"]],
    }


async def test_the_qr_code_and_the_copy_button(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    url = world.named["assertionUrl"]
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await open_page(page, url)
    qr = page.locator("#qr-code svg")
    await expect(qr).to_be_visible()
    await expect(qr).to_have_attribute("role", "img")
    await expect(qr.locator("title")).to_have_count(1)
    box = await qr.bounding_box()
    assert box is not None
    assert box["width"] >= 100
    assert box["height"] >= 100
    await expect(page.locator("#share-url")).to_have_value(url)
    await page.locator("#copy-link").click()
    await expect(page.locator("#copy-status")).to_have_text("Link copied.")
    assert await page.evaluate("() => navigator.clipboard.readText()") == url
    assert csp_reports == []


async def test_without_javascript_the_link_is_there_to_copy(plain: Page, world: World) -> None:
    page = plain
    url = world.named["assertionUrl"]
    await open_page(page, url)
    await expect(page.locator("#share-url")).to_be_visible()
    await expect(page.locator("#share-url")).to_have_value(url)
    await expect(page.locator("#qr-code svg")).to_be_visible()
    await expect(page.locator("#verification")).to_have_attribute("data-status", "valid")
    await expect(page.locator("#download-png")).to_be_visible()


async def test_without_javascript_there_is_no_copy_button(plain: Page, world: World) -> None:
    page = plain
    await open_page(page, world.named["assertionUrl"])
    await expect(page.locator("#copy-link")).to_have_attribute("hidden", "")
    await expect(page.locator("#copy-link")).to_be_hidden(timeout=1000)


async def test_a_revoked_award_says_so_within_seconds(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    recipient = email()
    instance = await award(world.client, world.badge, recipient)
    await signed_award_page(world.client, instance["assertionUrl"])
    for url in (instance["assertionUrl"], instance["openBadgeCredentialUrl"]):
        await open_page(page, url)  # the gateway caches it from here on
        await expect(page.locator("#verification")).to_have_attribute("data-status", "valid")
    answer = await world.client.delete(f"{world.badge}/instances/{recipient}")
    assert answer.status == 200, answer.body

    for url in (instance["assertionUrl"], instance["openBadgeCredentialUrl"]):
        deadline = asyncio.get_running_loop().time() + REVOCATION_S
        while True:
            response = await page.goto(url)
            assert response is not None
            if await page.locator("#revoked-notice").count():
                break
            assert asyncio.get_running_loop().time() < deadline, f"{url} still not revoked"
        assert response.status == 410
        await expect(page.locator("#revoked-notice")).to_contain_text("revoked")
        await expect(page.locator("#award")).to_have_attribute("data-revoked", "true")
        await expect(page.locator("#verification")).to_have_attribute("data-status", "revoked")
        await expect(page.locator("#verification-status")).to_have_text("Revoked")
        await expect(page.locator("#download-png")).to_have_count(0)
        await expect(page.locator("#linkedin-add")).to_have_count(0)
    await accessible(page)
    await screenshots(page, "award-revoked")
    assert csp_reports == []


async def test_an_unknown_award_is_a_404_page(
    page: Page, csp_reports: list[str], outside: list[str]
) -> None:
    await open_page(page, "/public/assertions/no-such-award", status=404)
    await expect(page.locator("#error")).to_have_attribute("data-status", "404")
    await expect(page.locator("#error-title")).to_be_visible()
    await expect(page.get_by_role("link", name="Verify a badge").first).to_be_visible()
    await accessible(page)
    await screenshots(page, "not-found")
    assert csp_reports == []


# --- badge, issuer and verification pages -----------------------------------------------------


async def test_the_badge_and_issuer_pages_link_to_each_other(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    await open_page(page, f"/public{world.badge}")
    await expect(page.locator("#badge-class")).to_be_visible()
    await expect(page.locator("#badge-name")).to_have_text("Reading Champion")
    await expect(page.locator("#badge-description")).to_have_text(DESCRIPTION)
    assert await href(page, "#criteria-link") == CRITERIA
    alignment = page.locator("#alignments [data-testid=alignment] a")
    await expect(alignment).to_have_text(ALIGNMENT["name"])
    assert await alignment.get_attribute("href") == ALIGNMENT["url"]
    await expect(page.locator("#issuer-link")).to_have_text(ISSUER_NAME)
    assert await href(page, "#issuer-page-link") == world.url(world.issuer)
    await accessible(page)
    await screenshots(page, "badge")

    await page.locator("#issuer-link").click()
    await expect(page).to_have_url(world.url(world.issuer))
    await expect(page.locator("#issuer-name")).to_have_text(ISSUER_NAME)
    assert await href(page, "#issuer-website") == f"https://{world.issuer_slug}.example.org"
    cards = page.locator("#badge-list [data-testid=badge-card]")
    await expect(cards).to_have_count(1)
    await expect(cards.locator("a.badge-link")).to_have_text("Reading Champion")
    await accessible(page)
    await screenshots(page, "issuer")

    await cards.locator("a.badge-link").click()
    await expect(page).to_have_url(world.url(world.badge))
    await expect(page.locator("#badge-class")).to_be_visible()
    assert csp_reports == []


async def test_the_verification_page_is_accessible_with_javascript(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    await open_page(page, "/public/verify")
    await expect(page.locator("#verify-form")).to_be_visible()
    await accessible(page)
    await screenshots(page, "verify")
    await page.get_by_label("Link to the badge or credential").fill(world.plain["assertionUrl"])
    async with page.expect_navigation():
        await page.locator("#verify-submit").click()
    report = page.locator("#verification")
    await expect(report).to_have_attribute("data-verified", "true")
    await expect(page.locator("#report-kind")).to_have_text("ob2-hosted")
    await accessible(page)
    await screenshots(page, "verify-report")
    assert csp_reports == []


async def test_the_verification_page_works_without_javascript(plain: Page, world: World) -> None:
    page = plain
    await open_page(page, "/public/verify")
    await page.get_by_label("Link to the badge or credential").fill(
        world.named["openBadgeCredentialUrl"]
    )
    async with page.expect_navigation():
        await page.locator("#verify-submit").click()
    await expect(page.locator("#verification")).to_have_attribute("data-verified", "true")
    await expect(page.locator("#verification")).to_have_attribute("data-status", "valid")
    await expect(page.locator("#report-kind")).to_have_text("ob3-ldp")
    await expect(page.locator("#report-badge")).to_have_text("Reading Champion")
    # The credential's issuer is the system, which holds the signing key.
    await expect(page.locator("#report-issuer")).to_have_text(SYSTEM_NAME)

    # A baked PNG, as the award page gives it, chosen in the form's file input.
    png = await page.request.get(f"{world.plain['openBadgeCredentialUrl']}/badge.png")
    assert png.status == 200
    await page.locator("#verify-file").set_input_files(
        files=[{"name": "badge.png", "mimeType": "image/png", "buffer": await png.body()}]
    )
    async with page.expect_navigation():
        await page.locator("#verify-submit").click()
    await expect(page.locator("#verification")).to_have_attribute("data-verified", "true")
    await expect(page.locator("#report-kind")).to_have_text("ob3-ldp")

    # A VC-JWT pasted into the text area.
    token = await page.request.get(f"{world.named['openBadgeCredentialUrl']}.jwt")
    assert token.status == 200
    await page.get_by_label("Or paste a credential").fill(await token.text())
    async with page.expect_navigation():
        await page.locator("#verify-submit").click()
    await expect(page.locator("#verification")).to_have_attribute("data-verified", "true")
    await expect(page.locator("#report-kind")).to_have_text("ob3-jwt")

    # Nothing given: the form says so.
    response = await page.goto("/public/verify")
    assert response is not None
    async with page.expect_navigation():
        await page.locator("#verify-submit").click()
    await expect(page.locator("#verify-problem")).to_be_visible()
    await expect(page.locator("#verify-form")).to_be_visible()


# --- hostile data ---------------------------------------------------------------------------


async def test_hostile_strings_are_shown_as_text(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    client = world.client
    system = await make_system(client, name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION)
    # The API refuses `javascript:` URLs outright; a URL that tries to leave its attribute gets
    # through, and must not become a link.
    refused = await client.post(
        f"{system}/badges",
        json={"slug": "js-criteria", "name": "x", "criteriaUrl": JAVASCRIPT_URL},
    )
    assert refused.status == 400, refused.body
    badge = await make_badge(
        client,
        system,
        name=HOSTILE_NAME,
        image=data_url(badge_png(), "image/png"),
        consumerDescription=f"{HOSTILE_DESCRIPTION} {LONG}",
        criteriaUrl=ESCAPING_URL,
        alignments=[{"name": "<b>bold</b>", "url": ESCAPING_URL}],
    )
    recipient = email()
    refused = await client.post(
        f"{badge}/instances", json={"email": recipient, "evidence": JAVASCRIPT_URL}
    )
    assert refused.status == 400, refused.body
    instance = await award(client, badge, recipient, evidence=ESCAPING_URL, name=HOSTILE_NAME)
    await signed_award_page(client, instance["assertionUrl"])

    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    for url, name in (
        (instance["assertionUrl"], "#badge-name"),
        (f"/public{badge}", "#badge-name"),
        (f"/public{system}", "#issuer-name"),
    ):
        await open_page(page, url)
        await expect(page.locator(name)).to_have_text(HOSTILE_NAME)
        hrefs = await page.locator("a[href]").evaluate_all(
            "links => links.map((link) => link.getAttribute('href'))"
        )
        assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], hrefs
        assert not [h for h in hrefs if "<script>" in h], hrefs
        await expect(page.locator("main script")).to_have_count(0)
        await expect(page.locator("main b")).to_have_count(0)
        await expect(page.locator("main img[src=x]")).to_have_count(0)
        await fits(page, 1280)
    await open_page(page, instance["assertionUrl"])
    await expect(page.locator("#badge-description")).to_have_text(f"{HOSTILE_DESCRIPTION} {LONG}")
    await expect(page.locator("#earner-name")).to_have_text(HOSTILE_NAME)
    await expect(page.locator("#criteria-link")).to_have_class("not-a-link")
    await expect(page.locator("#evidence-link")).to_have_class("not-a-link")
    await page.set_viewport_size(PHONE)
    await fits(page, PHONE["width"])
    await accessible(page)
    await screenshots(page, "award-hostile")
    assert dialogs == []
    assert csp_reports == []


# --- without JavaScript, on a phone, in print -------------------------------------------------


def every_page(world: World) -> list[tuple[str, str, int]]:
    """Each kind of page: its URL, an element it must show, and its status."""
    return [
        (world.named["assertionUrl"], "#award", 200),
        (world.plain["openBadgeCredentialUrl"], "#award", 200),
        (f"/public{world.badge}", "#badge-class", 200),
        (f"/public{world.issuer}", "#issuer-profile", 200),
        (f"/public{world.system}", "#issuer-profile", 200),
        ("/public/verify", "#verify-form", 200),
        ("/public/assertions/no-such-award", "#error", 404),
        (f"/public{world.system}/badges/no-such-badge", "#error", 404),
    ]


async def test_every_page_without_javascript_at_a_phones_width(plain: Page, world: World) -> None:
    page = plain
    await page.set_viewport_size(PHONE)
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    for url, shown, status in every_page(world):
        await open_page(page, url, status)
        await expect(page.locator(shown)).to_be_visible()
        await expect(page.locator("h1")).to_be_visible()
        await fits(page, PHONE["width"])
    assert refused == []


async def test_every_page_prints_without_its_controls(
    page: Page, csp_reports: list[str], outside: list[str], world: World
) -> None:
    await page.emulate_media(media="print")
    for url, _, status in every_page(world):
        await open_page(page, url, status)
        await expect(page.locator("h1")).to_be_visible()
        await expect(page.locator(".site-header nav")).to_be_hidden()
        await expect(page.locator(".skip-link")).to_be_hidden()
        pdf = await page.pdf(width="210mm", height="297mm")
        assert pdf.startswith(b"%PDF-")
    await open_page(page, world.named["assertionUrl"])
    await expect(page.locator("#badge-name")).to_be_visible()
    await expect(page.locator("#verification")).to_be_visible()
    await expect(page.locator("#linkedin-add")).to_be_hidden()
    await expect(page.locator("#copy-link")).to_be_hidden()
    await expect(page.locator("#downloads")).to_be_visible()
    await open_page(page, "/public/verify")
    await expect(page.locator("#verify-form")).to_be_hidden()
    assert csp_reports == []
