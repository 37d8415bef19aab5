"""What the browser tests do to a page besides driving it: check it with axe-core, and save
screenshots of it at a phone's and a desktop's width.

Chromium is Debian's (`/usr/bin/chromium`, or `PLAUDIT_CHROMIUM`), never one Playwright
downloads. axe-core comes from npm (`tests/browser/package.json`, installed by `make test`)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page, ViewportSize

CHROMIUM = Path(os.environ.get("PLAUDIT_CHROMIUM", "/usr/bin/chromium"))
BROWSER_DIR = Path(__file__).parent.parent / "browser"
AXE_JS = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots are test artefacts: CI keeps this folder (PLAUDIT_ARTIFACTS moves it).
ARTIFACTS = Path(os.environ.get("PLAUDIT_ARTIFACTS", BROWSER_DIR / "artifacts"))
# WCAG 2.2 AA, as axe-core tags its rules (each level includes the ones below it).
WCAG_22_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

_RUN_AXE = """async ([tags, exclude]) => {
  const context = exclude.length ? { include: [document], exclude: exclude.map((s) => [s]) }
                                 : document;
  const results = await axe.run(context, { runOnly: { type: "tag", values: tags } });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE_JS.is_file():
        raise RuntimeError(
            f"{AXE_JS} is missing: run `make test` (or `cd tests/browser && npm ci`) first"
        )
    return AXE_JS.read_text()


async def axe_violations(
    page: Page, *, tags: tuple[str, ...] = WCAG_22_AA, exclude: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (`exclude`: CSS selectors left out). The
    script is evaluated through the DevTools protocol, which the page's CSP does not govern (a
    `<script>` tag would be refused), and only once per document."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    found: list[dict[str, Any]] = await page.evaluate(_RUN_AXE, [list(tags), list(exclude)])
    return found


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as lines an assertion message can show."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}" for v in violations
    )


async def screenshots(page: Page, name: str, *, folder: Path = ARTIFACTS) -> list[Path]:
    """Full-page PNGs of the page at a phone's and a desktop's width, `<name>-phone.png` and
    `<name>-desktop.png` (Playwright makes the folder); the page gets its viewport back
    afterwards."""
    before = page.viewport_size
    saved = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        await page.screenshot(path=path, full_page=True)
        saved.append(path)
    if before is not None:
        await page.set_viewport_size(before)
    return saved
