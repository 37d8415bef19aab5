"""`/docs` in Chromium: Swagger UI renders this gateway's OpenAPI document under a strict CSP,
passes axe-core's WCAG 2.2 AA rules, and "Try it out" sends requests signed in the page with the
key and secret typed into it. Swagger UI takes seconds to read the document, so each test loads
the page once and goes through several steps on it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.support.browser import axe_violations, describe, screenshots
from tests.support.client import Client
from tests.support.factories import make_system
from tests.support.stack import Stack


async def open_docs(page: Page) -> None:
    await page.goto("/docs")
    await expect(page.locator("#operations-tag-systems")).to_be_visible()


def operation(page: Page, method: str, path: str) -> Locator:
    return page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )


async def open_operation(page: Page, tag: str, method: str, path: str) -> Locator:
    """Open a tag (unless it is open), then one of its operations, and press "Try it out"."""
    heading = page.locator(f"#operations-tag-{tag}")
    if await heading.get_attribute("data-is-open") != "true":
        await heading.click()
    block = operation(page, method, path)
    await block.locator(".opblock-summary-control").click()
    await block.get_by_role("button", name="Try it out").click()
    return block


async def sign_with(page: Page, key: str, secret: str) -> None:
    await page.get_by_label("API key").fill(key)
    await page.get_by_label("Secret").fill(secret)


async def execute(block: Locator, status: str, shown: str) -> None:
    await block.get_by_role("button", name="Execute").click()
    live = block.locator(".live-responses-table tr.response")
    await expect(live.locator(".response-col_status")).to_have_text(status)
    await expect(live.locator(".response-col_description")).to_contain_text(shown)


def tags_and_operations(spec: dict[str, Any]) -> tuple[set[str], int]:
    operations = [op for methods in spec["paths"].values() for op in methods.values()]
    return {tag for op in operations for tag in op["tags"]}, len(operations)


async def test_renders_the_document_accessibly(
    page: Page, csp_reports: list[str], stack: Stack
) -> None:
    await open_docs(page)
    spec = json.loads(await (await page.request.get("/openapi.json")).text())
    tags, operations = tags_and_operations(spec)
    headings = page.locator("h3.opblock-tag")
    await expect(headings).to_have_count(len(tags))
    await expect(page.locator(".info .title")).to_contain_text(spec["info"]["title"])
    await expect(page.locator("#signing")).to_be_visible()
    violations = await axe_violations(page)
    assert violations == [], describe(violations)
    await screenshots(page, "docs")

    for index in range(len(tags)):
        await headings.nth(index).click()
    await expect(page.locator(".opblock")).to_have_count(operations)
    await expect(operation(page, "post", "/systems/{system}/badges")).to_be_visible()
    assert csp_reports == []


async def test_try_it_out_signs_each_request_in_the_page(
    page: Page, csp_reports: list[str], stack: Stack
) -> None:
    await open_docs(page)
    await sign_with(page, "master", stack.settings.master_secret_value)
    listing = await open_operation(page, "systems", "get", "/systems")
    async with page.expect_request(f"{stack.base_url}/systems") as sent:
        await execute(listing, "200", '"systems"')
    authorization = await (await sent.value).header_value("authorization")
    assert (authorization or "").startswith('JWT token="')
    violations = await axe_violations(page)
    assert violations == [], describe(violations)
    await screenshots(page, "docs-try-it")

    # A body is signed with its hash.
    slug = f"docs-{uuid.uuid4().hex[:10]}"
    creation = await open_operation(page, "systems", "post", "/systems")
    body = {"slug": slug, "name": "Made from /docs", "url": "https://example.org"}
    await creation.get_by_label("Request body").fill(json.dumps(body))
    await execute(creation, "201", slug)

    # So is a multipart body, whose boundary the page fixes before hashing it.
    slug = f"docs-{uuid.uuid4().hex[:10]}"
    await creation.get_by_label("Request content type").select_option("multipart/form-data")
    fields = {**body, "slug": slug, "description": "", "email": "", "imageUrl": "", "image": ""}
    for name, value in fields.items():
        await creation.get_by_placeholder(name, exact=True).fill(value)
    async with page.expect_request(lambda request: request.method == "POST") as sent:
        await execute(creation, "201", slug)
    content_type = await (await sent.value).header_value("content-type")
    assert (content_type or "").startswith("multipart/form-data; boundary=")

    # The gateway refuses a token signed with the wrong secret, and the page shows why.
    await sign_with(page, "master", "not the secret")
    await execute(listing, "403", "NotAuthorized")
    assert csp_reports == []


async def test_a_consumer_key_signs_under_its_own_system(page: Page, api: Client) -> None:
    system = await make_system(api)
    consumer = (await api.post(f"{system}/consumers", json={"description": "docs"})).body
    key, secret = consumer["consumer"]["apiKey"], consumer["consumer"]["apiSecret"]
    await open_docs(page)
    await sign_with(page, key, secret)
    block = await open_operation(page, "systems", "get", "/systems/{system}")
    await block.get_by_placeholder("system", exact=True).fill(system.rsplit("/", 1)[1])
    await execute(block, "200", system.rsplit("/", 1)[1])
    # The key is valid only under its own system.
    await execute(await open_operation(page, "systems", "get", "/systems"), "403", "NotAuthorized")


async def test_without_javascript_the_page_lists_the_routes(
    new_context: Callable[..., Awaitable[BrowserContext]],
) -> None:
    context = await new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto("/docs")
    await expect(page.get_by_role("link", name="/openapi.json")).to_be_visible()
    await expect(page.get_by_role("heading", name="Routes")).to_be_visible()
    await expect(page.get_by_role("cell", name="/systems/{system}/badges").first).to_be_visible()
    await expect(page.locator("#signing")).to_be_hidden()
