"""`/docs`: every route, what it takes and what it answers, on a page without scripts."""

from __future__ import annotations

from services.gateway.docs_page import page
from services.gateway.route_table import all_routes, api_document


def test_the_page_lists_every_route() -> None:
    shown = page(api_document("1.2.3"))
    for route in all_routes():
        if route.path not in ("/openapi.json", "/docs"):
            assert route.path in shown
    assert "<script" not in shown


def test_each_row_links_its_body_and_its_reply() -> None:
    shown = page(api_document("1.2.3"))
    assert '<a href="#BadgeFields">BadgeFields</a>' in shown
    assert '201 <a href="#BadgeCreated">BadgeCreated</a>' in shown
    assert '<h3 id="BadgeCreated">BadgeCreated</h3>' in shown
