"""Which answer a public document's URL gives: the page to a browser or a link-preview crawler,
the JSON it always gave to everyone else.

`?format=json` or `?format=html` decides whatever the headers say (download links use the
first). Otherwise HTML only when `Accept` prefers `text/html` to JSON strictly (`*/*` alone, or
no header, keeps the JSON: that is what BadgeKit clients and OB 2.0 verifiers send), or when the
User-Agent is a crawler that reads Open Graph tags, whatever its `Accept`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from shared.errors import AppError
from shared.http import preferred

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorRenderer = Callable[[web.Request, AppError], web.StreamResponse]

HTML = "text/html"
# What every negotiated URL varies on, HTML and JSON alike, so a cache keeps them apart.
VARY = "Accept, User-Agent"
_CRAWLERS = re.compile(
    r"LinkedInBot|Slackbot|Slack-ImgProxy|facebookexternalhit|Facebot|Twitterbot|Discordbot|"
    r"WhatsApp|TelegramBot|SkypeUriPreview|Iframely|Embedly|Pinterestbot|redditbot|"
    r"Mastodon|vkShare|Applebot|Google-InspectionTool|bingbot",
    re.IGNORECASE,
)


def is_crawler(user_agent: str | None) -> bool:
    return bool(user_agent and _CRAWLERS.search(user_agent))


def wants_html(request: web.Request, json_type: str = "application/json") -> bool:
    forced = request.query.get("format")
    if forced == "html":
        return True
    if forced == "json":
        return False
    if is_crawler(request.headers.get("User-Agent")):
        return True
    return preferred(request.headers.get("Accept"), (json_type, HTML)) == HTML


def negotiated(
    page: Handler, *, json_type: str = "application/json"
) -> Callable[[Handler], Handler]:
    """Decorate a JSON view: `page` answers instead when the request wants HTML (the page
    renders its own errors), and both answers say what they vary on. The view keeps its name
    and flags (`public`), which the route table and the OpenAPI document read."""

    def decorate(view: Handler) -> Handler:
        @functools.wraps(view)
        async def either(request: web.Request) -> web.StreamResponse:
            handler = page if wants_html(request, json_type) else view
            try:
                response = await handler(request)
            except AppError as error:
                error.headers = {**(error.headers or {}), "Vary": VARY}
                raise
            response.headers["Vary"] = VARY
            return response

        return either

    return decorate
