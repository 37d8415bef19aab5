"""Browser tests: Debian's Chromium, driven by Playwright (pytest-playwright-asyncio), against
the running stack (the `stack` fixture the end-to-end tests share).

One browser for the session. Each test gets a fresh context and `page` (the plugin's fixtures;
`new_context(**options)` makes others, e.g. without JavaScript), whose relative URLs go to the
stack's gateway (`base_url`). `api` is a signed master-key client for setting up what pages show;
`csp_reports` collects what the page's CSP refused. The tests are `async def` and run on the
session's event loop, where the browser lives: Playwright's sync API would leave its loop marked
running and break every async test after it in the same run. Helpers (axe-core, screenshots):
`tests.support.browser`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright, async_playwright

from tests.support.browser import CHROMIUM, DESKTOP
from tests.support.client import Client
from tests.support.stack import Stack

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.browser)
        if pytest_asyncio.is_async_test(item):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as running:
        yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`.ci/run` does)")
    launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield launched
    await launched.close()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Every context starts at the desktop size of the screenshots."""
    return {**browser_context_args, "viewport": DESKTOP}


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    """Where the plugin's pages resolve relative URLs: `await page.goto("/docs")`."""
    return stack.base_url


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack) -> AsyncIterator[Client]:
    """A signed client (the master key) on the browser tests' event loop, to set up what the
    pages show."""
    async with aiohttp.ClientSession() as session:
        yield Client(session, stack.base_url, stack.settings.master_secret_value)


@pytest.fixture
def csp_reports(page: Page) -> list[str]:
    """What Chromium reports the page's Content-Security-Policy refused (assert it stays
    empty)."""
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    return refused
