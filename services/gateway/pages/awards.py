"""The award page, at an award's assertion and credential URLs alike: the badge, who issued it
and when, its verification (the issuer's report, the same as `POST /public/verify` gives for the
award's credential), its downloads and its ways to share.

Rendered whole from the badges service's and the issuer's answers and kept in the gateway's read
cache like the JSON documents: a revocation drops it there at once (its event), and the cache's
TTL bounds the rest, well within DESIGN.md's 10 s.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from aiohttp import web

from services.gateway.keys import pages_key, read_cache_key, reports_key, settings_key
from services.gateway.pages.errors import error_page
from services.gateway.pages.places import place_of
from services.gateway.pages.rendering import moment, safe_url
from services.gateway.pages.sharing import linkedin_url, qr_svg
from services.gateway.pages.verdict import of_award
from services.gateway.read_cache import Found, Reply
from services.gateway.views.common import ask, ask_badges
from shared.errors import AppError, NotFound
from shared.messages.public import GetAssertion, GetBadgeClass, GetIssuerProfile
from shared.messages.verification import VerifyCredential
from shared.public_urls import assertion_url, credential_url


async def award_page(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]

    async def look_up() -> Found:
        return await _rendered(request, slug)

    try:
        return await request.app[read_cache_key].get(("page.award", slug), look_up)
    except AppError as error:
        return error_page(request, error)


async def _report(request: web.Request, slug: str) -> dict[str, Any] | None:
    """The issuer's verification report of the award's credential (`POST /public/verify`'s for
    its URL), kept in `reports.py`; None while it is not signed yet. The issuer reads its own
    credential, without any request (DESIGN.md, Public pages)."""
    url = credential_url(request.app[settings_key].base_url, slug)

    async def verify() -> dict[str, Any] | None:
        try:
            report: dict[str, Any] = await ask(request, "issuer", VerifyCredential(url=url))
        except AppError:
            return None
        return report

    return await request.app[reports_key].get(slug, verify)


async def _rendered(request: web.Request, slug: str) -> Found:
    base_url = request.app[settings_key].base_url
    found = await ask_badges(request, GetAssertion(slug=slug))
    assertion = found["assertion"]
    place = place_of(base_url, str(assertion["badge"]))
    if place is None or place[1] is None:
        raise NotFound("Could not find this award's badge")
    scope, badge_slug = place
    badge, issuer, report = await asyncio.gather(
        ask_badges(request, GetBadgeClass(scope=scope, badge=badge_slug)),
        ask_badges(request, GetIssuerProfile(scope=scope)),
        _report(request, slug),
    )
    revoked = bool(found["revoked"])
    issued, expires = moment(assertion.get("issuedOn")), moment(assertion.get("expires"))
    verdict = of_award(
        report, revoked=revoked, expires=expires.astimezone(UTC) if expires else None
    )
    canonical = assertion_url(base_url, slug)
    credential = credential_url(base_url, slug)
    name = str(badge.get("name") or "")
    organization = str(issuer.get("name") or "")
    earner = found.get("name") or None
    title = f"{name}, earned by {earner}" if earner else name
    description = str(badge.get("description") or "")
    response = request.app[pages_key].render(
        "award",
        status=410 if revoked else 200,
        title=title,
        og={
            "title": f"{title} · {organization}" if organization else title,
            "description": description,
            "url": canonical,
            "image": safe_url(badge.get("image")),
            "image_alt": f"The {name} badge",
        },
        badge=badge,
        issuer=issuer,
        issuer_page=badge.get("issuer"),
        badge_page=assertion["badge"],
        earner=earner,
        issued_on=assertion.get("issuedOn"),
        expires=assertion.get("expires"),
        evidence=assertion.get("evidence"),
        narrative=assertion.get("narrative"),
        revoked=revoked,
        revocation_reason=assertion.get("revocationReason"),
        verdict=verdict,
        share_url=canonical,
        linkedin=linkedin_url(
            name=name,
            organization=organization,
            issued=issued,
            expires=expires,
            url=canonical,
            cert_id=slug,
        ),
        qr=qr_svg(canonical),
        downloads={
            "png": f"{credential}/badge.png",
            "svg": f"{credential}/badge.svg",
            "ob3": f"{credential}?format=json",
            "jwt": f"{credential}.jwt",
            "ob2": f"{canonical}?format=json",
        },
        slug=slug,
    )
    # A page that says its credential is on its way is not kept: the next reader sees it signed.
    keep = verdict.status != "pending"
    return Found(str(found["system"]), Reply.of(response), keep=keep)
