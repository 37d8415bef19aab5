"""The public documents under `/public/`: never authenticated."""

from __future__ import annotations

import base64

from aiohttp import web

from services.gateway.handlers.common import ask_badges
from services.gateway.middleware import public
from services.gateway.routes import Route
from shared.messages.public import GetImage

# An image's slug changes whenever it is replaced, so its bytes can be cached for good.
IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"
# Uploaded SVGs are served as documents that can run nothing.
IMAGE_SECURITY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


@public
async def get_image(request: web.Request) -> web.Response:
    image = await ask_badges(request, GetImage(slug=request.match_info["image"]))
    etag = f'"{image["etag"]}"'
    headers = {"Cache-Control": IMAGE_CACHE_CONTROL, "ETag": etag, **IMAGE_SECURITY}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=base64.b64decode(image["data"]), content_type=image["contentType"], headers=headers
    )


ROUTES = [
    Route("GET", "/public/images/{image}", get_image, "An uploaded image", "public"),
]
