"""Which answer a public document's URL gives: the page, or the JSON it always gave."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.pages.negotiation import VARY, is_crawler, negotiated, wants_html
from shared.errors import NotFound

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def request(path: str = "/public/assertions/a", **headers: str) -> web.Request:
    return make_mocked_request("GET", path, headers=headers)


class TestWantsHtml:
    @pytest.mark.parametrize(
        "accept",
        [
            BROWSER,
            "text/html",
            "text/*",
            "application/json;q=0.5, text/html",
            "text/html;q=0.9, */*;q=0.8",
        ],
    )
    def test_accept_that_prefers_html(self, accept: str) -> None:
        assert wants_html(request(Accept=accept))

    @pytest.mark.parametrize(
        "accept",
        [
            "",
            "*/*",
            "application/json",
            "application/json, text/html",  # a tie goes to the JSON
            "text/html;q=0.5, application/json",
            "text/html;q=0, */*",
            "application/ld+json, application/json;q=0.9",
            "image/png",
        ],
    )
    def test_accept_that_keeps_the_json(self, accept: str) -> None:
        assert not wants_html(request(Accept=accept))

    def test_no_accept_header_keeps_the_json(self) -> None:
        assert not wants_html(request())

    def test_the_json_type_of_the_url_counts(self) -> None:
        ld = "application/ld+json, text/html;q=0.9"
        assert not wants_html(request(Accept=ld), "application/ld+json")
        assert wants_html(request(Accept=ld))  # no application/json there

    @pytest.mark.parametrize(
        "agent",
        [
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "WhatsApp/2.23.20.0 A",
            "TelegramBot (like TwitterBot)",
        ],
    )
    def test_link_preview_crawlers_get_the_page_whatever_they_accept(self, agent: str) -> None:
        assert is_crawler(agent)
        assert wants_html(request(Accept="*/*", **{"User-Agent": agent}))

    def test_ordinary_clients_are_no_crawlers(self) -> None:
        for agent in ("python-requests/2.32", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"):
            assert not is_crawler(agent)

    def test_format_decides_whatever_the_headers(self) -> None:
        assert not wants_html(request("/x?format=json", Accept=BROWSER))
        crawler = {"User-Agent": "Twitterbot/1.0"}
        assert not wants_html(request("/x?format=json", **crawler))
        assert wants_html(request("/x?format=html", Accept="application/json"))
        assert wants_html(request("/x?format=xml", Accept=BROWSER))


async def _page(_request: web.Request) -> web.Response:
    return web.Response(text="<p>page</p>", content_type="text/html")


async def _json(_request: web.Request) -> web.Response:
    return web.json_response({"type": "Assertion"})


async def _missing(_request: web.Request) -> web.Response:
    raise NotFound("Could not find badge instance")


class TestNegotiated:
    async def test_both_answers_say_what_they_vary_on(self) -> None:
        view = negotiated(_page)(_json)
        page = await view(request(Accept=BROWSER))
        assert page.content_type == "text/html"
        assert page.headers["Vary"] == VARY
        json = await view(request(Accept="*/*"))
        assert json.content_type == "application/json"
        assert json.headers["Vary"] == VARY

    async def test_a_json_error_varies_too(self) -> None:
        view = negotiated(_page)(_missing)
        with pytest.raises(NotFound) as raised:
            await view(request())
        assert raised.value.headers["Vary"] == VARY

    def test_the_view_keeps_its_name_and_flags(self) -> None:
        _json.plaudit_public = True  # type: ignore[attr-defined]
        view = negotiated(_page)(_json)
        assert view.__name__ == "_json"
        assert getattr(view, "plaudit_public", False)
