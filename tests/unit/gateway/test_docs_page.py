"""`/docs`: Swagger UI started by the gateway's own script, no inline script or style, and
without JavaScript every route, what it takes and what it answers."""

from __future__ import annotations

import re

from services.gateway.docs_assets import assets
from services.gateway.docs_page import page
from services.gateway.openapi import UNDOCUMENTED
from services.gateway.route_table import all_routes, api_document


def shown() -> str:
    return page(api_document("1.2.3"), assets().urls)


def test_the_page_loads_swagger_ui_and_its_own_script_from_this_gateway() -> None:
    text = shown()
    scripts = re.findall(r"<script[^>]*>", text)
    assert scripts == [
        f'<script src="{assets().urls["swagger-ui-bundle.js"]}" defer>',
        f'<script src="{assets().urls["docs.js"]}" defer>',
    ]
    assert all(url.startswith("/docs/assets/") for url in assets().urls.values())
    assert 'data-spec-url="/openapi.json"' in text


def test_no_inline_script_or_style() -> None:
    text = shown()
    assert "<style" not in text
    assert " style=" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert not re.search(r"<[^>]*\son[a-z]+=", text)  # no event handler attributes


def test_the_signing_form_is_hidden_until_the_script_shows_it() -> None:
    text = shown()
    assert '<form id="signing" class="signing" method="dialog" hidden>' in text
    assert 'id="signing-secret" name="secret" type="password" autocomplete="off"' in text


def test_without_javascript_the_page_lists_every_route() -> None:
    fallback = shown().split("<noscript>", 1)[1]
    for route in all_routes():
        if route.path not in UNDOCUMENTED:
            assert route.path in fallback
    assert '<a href="/openapi.json">/openapi.json</a>' in shown()


def test_each_row_links_its_body_and_its_reply() -> None:
    text = shown()
    assert '<a href="#BadgeFields">BadgeFields</a>' in text
    assert '201 <a href="#BadgeCreated">BadgeCreated</a>' in text
    assert '<h3 id="BadgeCreated">BadgeCreated</h3>' in text
