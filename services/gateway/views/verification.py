"""`POST /public/verify`: anyone may ask whether a credential holds (the work is in
`verifying.py` and the issuer), and `GET /public/verify`, the page where a person asks it. A
browser's form post to the same URL is answered with the report as a page."""

from __future__ import annotations

from aiohttp import web

from services.gateway.middleware import public
from services.gateway.pages import verification as page
from services.gateway.pages.negotiation import negotiated
from services.gateway.render import json_response
from services.gateway.responses.verification import VerificationReport
from services.gateway.routes import Answer, Raw, Route
from services.gateway.verifying import verification_report


@public
@negotiated(page.report_page)
async def verify(request: web.Request) -> web.Response:
    return json_response(await verification_report(request))


@public
async def verification_page(request: web.Request) -> web.StreamResponse:
    return await page.form_page(request)


TAG = "public"
_ERROR = Raw("application/json", {"$ref": "#/components/schemas/Error"})
_SUBMISSION = {
    "required": True,
    "description": (
        "A credential as JSON-LD, a VC-JWT (`application/vc+jwt` or `text/plain`), a baked PNG"
        ' or SVG (`image/png`, `image/svg+xml`), or `{"url": ...}` of a credential or an'
        " Open Badges 2.0 hosted assertion; at most 2 MiB. The verification page's form"
        " (multipart or form-encoded: a `file`, else a pasted `credential`, else a `url`) is"
        " answered with the report as an HTML page when `Accept` prefers `text/html`"
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "An OpenBadgeCredential, or {url}",
                "properties": {"url": {"type": "string", "format": "uri"}},
            }
        },
        "text/plain": {"schema": {"type": "string", "description": "A VC-JWT"}},
    },
}
ROUTES = [
    Route(
        "GET",
        "/public/verify",
        verification_page,
        "The verification page: a form to verify a URL, a pasted credential or a baked image",
        TAG,
        reply=Raw("text/html", {"type": "string"}),
        local=True,
    ),
    Route(
        "POST",
        "/public/verify",
        verify,
        "Verify a credential (OB 3.0 JSON-LD or VC-JWT, baked image, or a URL, OB 2.0 included)",
        TAG,
        reply=VerificationReport,
        request_body=_SUBMISSION,
        page=True,
        also=(
            Answer(400, _ERROR, "`InvalidContent`: the submission is no credential of any kind"),
            Answer(413, _ERROR, "`RequestEntityTooLarge`: the body is over 2 MiB"),
            Answer(429, _ERROR, "`TooManyRequests`: this address's rate limit"),
        ),
    ),
]
