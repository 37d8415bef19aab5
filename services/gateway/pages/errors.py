"""A page's errors as pages: what a person reads instead of a JSON error body, with its
status and headers (`Retry-After`) kept."""

from __future__ import annotations

from aiohttp import web

from services.gateway.keys import pages_key
from shared.errors import AppError

_TITLES = {
    400: "This could not be read",
    404: "Not found",
    410: "Gone",
    413: "Too large",
    429: "Too many requests",
    503: "Try again shortly",
}
_EXPLANATIONS = {
    404: "There is nothing at this address. Check the link you were given.",
    410: "What was here has been withdrawn.",
    429: "Too many requests came from your address. Wait a moment, then try again.",
    503: "Part of the service is busy or restarting. Reload the page in a few seconds.",
}


def error_page(request: web.Request, error: AppError) -> web.Response:
    title = _TITLES.get(error.status, "Something went wrong")
    response = request.app[pages_key].render(
        "error",
        status=error.status,
        code=error.status,
        title=title,
        explanation=_EXPLANATIONS.get(error.status, ""),
        message=error.message,
        og=None,
    )
    response.headers.update(error.headers or {})
    # An error may be over in a moment (a service restarting, an award a moment old).
    response.headers["Cache-Control"] = "no-store"
    return response
