"""Images given with a request: an uploaded file, a `data:` URI, or a URL.

Uploads are checked here, before anything is sent on: at most `MAX_IMAGE_BYTES`, and a type
recognised by the bytes themselves (never by the declared content type).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from services.gateway.body import Body
from shared.errors import ValidationFailed
from shared.messages.common import ImageUpload

# Badge images are small (Open Badges suggests under 256 KB); a megabyte is generous.
MAX_IMAGE_BYTES = 1024 * 1024
_DATA_URI = re.compile(r"^data:([\w/+.-]*)(;[\w=.-]+)*?(;base64)?,(.*)$", re.DOTALL)
_SVG_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]", re.DOTALL
)


def sniff(data: bytes) -> str | None:
    """The image type the bytes say, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if _SVG_START.match(data.removeprefix(b"\xef\xbb\xbf")[:4096]):
        return "image/svg+xml"
    return None


def _invalid(message: str, value: str = "") -> ValidationFailed:
    return ValidationFailed([{"field": "image", "value": value, "message": message}])


def checked_upload(data: bytes) -> ImageUpload:
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid(f"Image too large: at most {MAX_IMAGE_BYTES // 1024} KiB")
    content_type = sniff(data)
    if content_type is None:
        raise _invalid("Unsupported image: send a PNG, SVG, JPEG or GIF file")
    return ImageUpload(content_type=content_type, data=data)


def _from_data_uri(value: str) -> ImageUpload:
    match = _DATA_URI.match(value)
    if match is None or not match.group(3):
        raise _invalid("Invalid data URI: use data:<type>;base64,<data>")
    try:
        data = base64.b64decode(match.group(4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("Invalid data URI: the data is not base64") from None
    return checked_upload(data)


def image_fields(body: Body) -> tuple[dict[str, Any], ImageUpload | None]:
    """The body's fields with BadgeKit's `image` sorted out: an uploaded file or a `data:` URI
    becomes an upload; a URL becomes `imageUrl`."""
    fields = dict(body.fields)
    if "image" in body.files:
        fields.pop("image", None)
        return fields, checked_upload(body.files["image"].data)
    for name in ("image", "imageUrl"):
        value = fields.get(name)
        if isinstance(value, str) and value.strip().startswith("data:"):
            del fields[name]
            return fields, _from_data_uri(value.strip())
    if "image" in fields:
        image = fields.pop("image")
        fields.setdefault("imageUrl", image)
    return fields, None
