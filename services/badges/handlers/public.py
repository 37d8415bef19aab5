"""The public documents: uploaded images (and the Open Badges documents)."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from services.badges.errors import not_found
from services.badges.repository import images
from shared.handling import Context, Handler
from shared.messages.base import Message
from shared.messages.public import GetImage

if TYPE_CHECKING:
    from services.badges.app import Deps

    Ctx = Context[Deps]


async def get_image(query: GetImage, ctx: Ctx) -> dict[str, Any]:
    image = await images.get(ctx.conn, query.slug)
    if image is None:
        raise not_found("image", "slug", query.slug)
    data: bytes = image["data"]
    return {
        "contentType": image["mimetype"],
        "data": base64.b64encode(data).decode(),
        "etag": hashlib.sha256(data).hexdigest()[:32],
    }


HANDLERS: dict[type[Message], Handler[Deps]] = {
    GetImage: get_image,
}
