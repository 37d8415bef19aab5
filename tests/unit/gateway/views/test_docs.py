"""`/docs` and its files: the page's headers, and each file's type, caching and compression."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.config import VERSION
from services.gateway.docs_assets import assets
from services.gateway.keys import api_document_key
from services.gateway.route_table import api_document
from services.gateway.views.docs import DOCS_CSP, docs, docs_asset, openapi_json
from shared.errors import NotFound


def request(path: str, headers: dict[str, str] | None = None, **match: str) -> web.Request:
    app = web.Application()
    app[api_document_key] = api_document
    return make_mocked_request("GET", path, headers=headers, app=app, match_info=match)


def served_name(name: str) -> str:
    return assets().urls[name].rsplit("/", 1)[1]


async def test_the_page_carries_its_csp() -> None:
    response = await docs(request("/docs"))
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == DOCS_CSP
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.text is not None
    assert assets().urls["docs.js"] in response.text


def test_the_csp_allows_nothing_inline_and_nothing_from_elsewhere() -> None:
    directives = dict(part.split(" ", 1) for part in DOCS_CSP.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    ("accept_encoding", "encoded"), [("gzip, deflate", True), ("identity", False), ("", False)]
)
async def test_a_script_goes_gzipped_only_to_who_accepts_it(
    accept_encoding: str, encoded: bool
) -> None:
    name = served_name("docs.js")
    response = await docs_asset(
        request(f"/docs/assets/{name}", {"Accept-Encoding": accept_encoding}, file=name)
    )
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Vary"] == "Accept-Encoding"
    body: Any = response.body
    if encoded:
        assert response.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(body)
    else:
        assert "Content-Encoding" not in response.headers
    found = assets().file(name)
    assert found is not None
    assert body == found.body


async def test_an_image_goes_as_it_is() -> None:
    name = served_name("favicon-32x32.png")
    response = await docs_asset(
        request(f"/docs/assets/{name}", {"Accept-Encoding": "gzip"}, file=name)
    )
    assert response.headers["Content-Type"] == "image/png"
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers


async def test_an_unknown_or_stale_name_is_not_found() -> None:
    with pytest.raises(NotFound):
        await docs_asset(request("/docs/assets/docs.js", file="docs.js"))


@pytest.mark.parametrize("accept_encoding", ["gzip, br", "identity"])
async def test_the_openapi_document_goes_gzipped_to_who_accepts_it(accept_encoding: str) -> None:
    response = await openapi_json(request("/openapi.json", {"Accept-Encoding": accept_encoding}))
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Vary"] == "Accept-Encoding"
    body: Any = response.body
    if accept_encoding.startswith("gzip"):
        assert response.headers["Content-Encoding"] == "gzip"
        assert len(body) < 100_000
        body = gzip.decompress(body)
    else:
        assert "Content-Encoding" not in response.headers
    assert orjson.loads(body) == api_document(VERSION)
