"""The badge page (what a badge means: its description, criteria, alignments, its issuer) and
the issuer page (a system, issuer or program, and its badges), at their Open Badges 2.0 URLs;
kept in the gateway's read cache as the JSON documents are."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from services.gateway.keys import pages_key, read_cache_key, settings_key
from services.gateway.pages.errors import error_page
from services.gateway.pages.rendering import safe_url
from services.gateway.read_cache import Found, LookUp, Reply
from services.gateway.views.common import ask_badges, scope
from shared.errors import AppError
from shared.messages.badges import ListBadges
from shared.messages.common import Scope
from shared.messages.fields import Page
from shared.messages.public import GetBadgeClass, GetIssuerProfile
from shared.public_urls import badge_class_url

# The issuer page lists this many of its badges at most (a page, not a catalogue).
LISTED_BADGES = 100


async def _cached(request: web.Request, key: tuple[Any, ...], look_up: LookUp) -> web.Response:
    try:
        return await request.app[read_cache_key].get(key, look_up)
    except AppError as error:
        return error_page(request, error)


async def badge_page(request: web.Request) -> web.Response:
    place, badge = scope(request), request.match_info["badge"]

    async def look_up() -> Found:
        badge_class, issuer = await asyncio.gather(
            ask_badges(request, GetBadgeClass(scope=place, badge=badge)),
            ask_badges(request, GetIssuerProfile(scope=place)),
        )
        name = str(badge_class.get("name") or "")
        response = request.app[pages_key].render(
            "badge",
            title=name,
            og={
                "title": f"{name} · {issuer.get('name')}",
                "description": str(badge_class.get("description") or ""),
                "url": badge_class["id"],
                "image": safe_url(badge_class.get("image")),
                "image_alt": f"The {name} badge",
            },
            badge=badge_class,
            issuer=issuer,
        )
        return Found(place.system, Reply.of(response))

    return await _cached(request, ("page.badge", place.model_dump_json(), badge), look_up)


def _listed(base_url: str, item: dict[str, Any]) -> dict[str, Any]:
    """A badge of the issuer's list as the page shows it: its name, image and public URL."""
    level = {name: (item.get(name) or {}).get("slug") for name in ("issuer", "program")}
    url = badge_class_url(
        base_url, item["system"]["slug"], level["issuer"], level["program"], item["slug"]
    )
    return {
        "name": item.get("name"),
        "image": item.get("imageUrl"),
        "description": item.get("consumerDescription"),
        "url": url,
    }


async def issuer_page(request: web.Request) -> web.Response:
    place = scope(request)
    base_url = request.app[settings_key].base_url

    async def look_up() -> Found:
        issuer, badges = await asyncio.gather(
            ask_badges(request, GetIssuerProfile(scope=place)),
            ask_badges(request, ListBadges(scope=place, page=Page(page=1, count=LISTED_BADGES))),
        )
        name = str(issuer.get("name") or "")
        shown = [_listed(base_url, item) for item in badges["items"]]
        response = request.app[pages_key].render(
            "issuer",
            title=name,
            og={
                "title": name,
                "description": str(issuer.get("description") or f"Badges issued by {name}"),
                "url": issuer["id"],
                "image": safe_url(issuer.get("image")),
                "image_alt": f"{name}'s logo",
            },
            issuer=issuer,
            badges=shown,
            more=badges["total"] > len(shown),
        )
        return Found(place.system, Reply.of(response))

    return await _cached(request, ("page.issuer", _key(place)), look_up)


def _key(place: Scope) -> str:
    return place.model_dump_json()
