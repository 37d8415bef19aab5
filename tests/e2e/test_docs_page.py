"""`/docs` over HTTP: the page under its Content-Security-Policy, and the files it loads, served
by the gateway from the installed packages with the right types and year-long caching."""

from __future__ import annotations

import gzip
import re

import aiohttp
import pytest

from services.gateway.docs_assets import assets
from services.gateway.views.docs import DOCS_CSP
from tests.support.client import Client

pytestmark = pytest.mark.e2e

IMMUTABLE = "public, max-age=31536000, immutable"


async def fetch(
    client: Client, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[aiohttp.ClientResponse, bytes]:
    # Bodies as sent (no decompression), to see what the gateway compresses.
    async with client.session.request(
        method, client.base_url + path, headers=headers, auto_decompress=False
    ) as response:
        return response, await response.read()


async def page_assets(client: Client) -> list[str]:
    _, body = await fetch(client, "/docs")
    return re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', body.decode())


class TestPage:
    async def test_answers_html_under_a_strict_csp(self, client: Client) -> None:
        response, body = await fetch(client, "/docs")
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"] == DOCS_CSP
        assert "script-src 'self'" in DOCS_CSP
        assert "unsafe-inline" not in DOCS_CSP
        assert "unsafe-eval" not in DOCS_CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert b'<div id="swagger-ui" data-spec-url="/openapi.json">' in body

    async def test_loads_only_this_gateways_files(self, client: Client) -> None:
        found = await page_assets(client)
        assert sorted(found) == sorted(assets().urls.values())


class TestAssets:
    async def test_each_is_served_with_its_type_and_cached_for_a_year(self, client: Client) -> None:
        types = {
            ".js": "text/javascript",
            ".css": "text/css",
            ".png": "image/png",
        }
        for path in await page_assets(client):
            response, body = await fetch(client, path, headers={"Accept-Encoding": "identity"})
            assert response.status == 200, path
            assert response.content_type == types[path[path.rindex(".") :]], path
            assert response.headers["Cache-Control"] == IMMUTABLE
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "Content-Encoding" not in response.headers
            assert body

    async def test_scripts_and_styles_go_gzipped_to_who_accepts_it(self, client: Client) -> None:
        path = assets().urls["swagger-ui-bundle.js"]
        response, body = await fetch(client, path, headers={"Accept-Encoding": "gzip, br"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Vary"] == "Accept-Encoding"
        _, raw = await fetch(client, path, headers={"Accept-Encoding": "identity"})
        assert gzip.decompress(body) == raw
        assert len(body) < len(raw) / 2

    async def test_head_answers_as_get_without_the_body(self, client: Client) -> None:
        path = assets().urls["docs.js"]
        response, body = await fetch(client, path, method="HEAD")
        assert response.status == 200
        assert body == b""
        assert response.content_type == "text/javascript"

    @pytest.mark.parametrize(
        "path",
        [
            "/docs/assets/docs.js",
            "/docs/assets/swagger-ui.css",
            "/docs/assets/index.html",
            "/docs/assets/..%2F..%2Fconfig.py",
        ],
    )
    async def test_anything_else_is_not_found(self, client: Client, path: str) -> None:
        answer = await client.get(path, sign=False)
        assert answer.status == 404
        assert answer.body["code"] == "ResourceNotFound"
