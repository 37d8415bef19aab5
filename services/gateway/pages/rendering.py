"""Rendering the pages: Jinja2 templates, compiled once when the gateway starts, with autoescape
on everywhere, and the headers every page carries (a strict Content-Security-Policy: no inline
script or style, nothing from elsewhere)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from services.gateway.static_files import StaticFiles, servable

# The verification page's form posts to the gateway itself. Images are ours, `data:`, or a
# badge's own image on another https host (a badge may name any image URL); the QR code is
# inline SVG.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data: https:; "
    "script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The pages' stylesheet, script and placeholder image.
STATIC_PREFIX = "/public/static/"
STATIC_DIRECTORY = Path(__file__).parent / "static"
# Browsers and CDNs may keep a page as long as its JSON (DESIGN.md: at most 60 s).
PAGE_CACHE_CONTROL = "public, max-age=60"
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
TEMPLATES = ("award", "badge", "issuer", "verify", "error")


def safe_url(value: Any) -> str | None:
    """`value` when it is an absolute http(s) URL, else None: anything else (`javascript:`,
    `data:`, a relative path) must never become a live link or an image source."""
    if not isinstance(value, str) or len(value) > 4096:
        return None
    stripped = value.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ord(char) < 0x20 or char in "\\\"'<>` " for char in stripped):
        return None
    return stripped


def moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def long_date(value: Any) -> str:
    """`12 May 2024` (unambiguous in every locale) from an ISO 8601 date-time."""
    found = moment(value)
    return f"{found.day} {found:%B %Y}" if found else ""


def static_files() -> StaticFiles:
    """The pages' static files, read from `static/`."""
    return StaticFiles(STATIC_PREFIX, servable(STATIC_DIRECTORY))


class Pages:
    """The compiled templates, and the static files they link to."""

    def __init__(self, base_url: str, static: StaticFiles | None = None) -> None:
        self.static = static or static_files()
        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("services.gateway.pages", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.filters["safe_url"] = safe_url
        environment.filters["long_date"] = long_date
        environment.globals["static"] = self.static.url
        # Open Graph wants absolute URLs; a page without an image of its own shows this one.
        environment.globals["default_image"] = base_url + self.static.url("badge.svg")
        self._templates = {name: environment.get_template(f"{name}.html") for name in TEMPLATES}

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        text = self._templates[template].render(**context)
        return web.Response(
            text=text,
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": PAGE_CACHE_CONTROL, **PAGE_HEADERS},
        )
