"""The verification page: a form anyone can use without JavaScript (a URL, a pasted credential
or VC-JWT, or a baked PNG or SVG), posted to `POST /public/verify`, whose report comes back as a
page, made by the one verifier there is (the issuer's, as for JSON clients)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.keys import pages_key, settings_key
from services.gateway.pages.verdict import of_report
from services.gateway.verifying import verification_report
from shared.errors import AppError

FORM_TARGET = "/public/verify?format=html"


def _render(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    base_url = request.app[settings_key].base_url
    context.setdefault("report", None)
    context.setdefault("verdict", None)
    context.setdefault("problem", None)
    response = request.app[pages_key].render(
        "verify",
        status=status,
        title="Verify a badge",
        og={
            "title": "Verify a badge",
            "description": "Check that an Open Badge or a verifiable credential is genuine.",
            "url": f"{base_url}/public/verify",
            "image": None,
            "image_alt": "",
        },
        action=FORM_TARGET,
        **context,
    )
    return response


async def form_page(request: web.Request) -> web.Response:
    return _render(request)


async def report_page(request: web.Request) -> web.Response:
    """The report of what the form posted, or the form again with what went wrong."""
    try:
        report = await verification_report(request)
    except AppError as error:
        response = _render(request, error.status, problem=error.message)
        response.headers.update(error.headers or {})
        response.headers["Cache-Control"] = "no-store"
        return response
    response = _render(request, report=report, verdict=of_report(report))
    # A report answers one submission: no cache keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response
