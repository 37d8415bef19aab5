"""Baked badges: a credential or an assertion baked into its badge's image, given by the
gateway as bytes (one of ours) or as a URL, fetched here through the SSRF guard and kept (every
award of a badge bakes the same image). Converting and baking run off the event loop, and no
database connection is held meanwhile (`borrows_connections`: it reads nothing)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import structlog

from services.issuer.config import IMAGE_MAX_BYTES
from services.issuer.deps import Ctx, Deps
from services.issuer.fetcher import Fetcher, FetchFailed
from services.issuer.ob3 import images
from services.issuer.ob3.baking import MEDIA_TYPES, OB2, OB3, InvalidImage
from shared.context import Handler, borrows_connections
from shared.errors import InvalidContent, UnusableImage
from shared.messages.baking import BakeImage
from shared.messages.base import Message

log = structlog.get_logger()

IMAGE_ACCEPT = "image/png, image/svg+xml, image/*;q=0.8"
_LIMIT = f"{IMAGE_MAX_BYTES >> 20} MiB"


@borrows_connections
async def bake_image(query: BakeImage, ctx: Ctx) -> dict[str, Any]:
    image = await _image(query, ctx.deps.image_fetcher)
    standard = OB3 if query.standard == "ob3" else OB2
    try:
        baked = await asyncio.to_thread(
            images.bake, image, query.text, standard, query.format, verify=query.verify
        )
    except InvalidImage as error:
        raise UnusableImage(f"The badge's image cannot be baked: {error}") from None
    log.info("image.baked", standard=query.standard, format=query.format, bytes=len(baked))
    return {
        "data": base64.b64encode(baked).decode("ascii"),
        "contentType": MEDIA_TYPES[query.format],
    }


async def _image(query: BakeImage, fetcher: Fetcher) -> bytes:
    if query.image is not None:
        try:
            data = base64.b64decode(query.image, validate=True)
        except binascii.Error:
            raise InvalidContent("The image is not base64") from None
    else:
        assert query.image_url is not None  # one of the two, as the model checks
        try:
            # The image fetcher's limit is IMAGE_MAX_BYTES (services/issuer/deps.py).
            fetched = await fetcher.fetch(query.image_url, accept=IMAGE_ACCEPT)
        except FetchFailed as failed:
            raise UnusableImage(f"The badge's image cannot be fetched: {failed.reason}") from None
        if fetched.status != 200:
            raise UnusableImage(f"The badge's image URL answered {fetched.status}, not 200")
        data = fetched.body
    if len(data) > IMAGE_MAX_BYTES:
        raise UnusableImage(f"The badge's image is larger than {_LIMIT}")
    return data


HANDLERS: dict[type[Message], Handler[Deps]] = {BakeImage: bake_image}
