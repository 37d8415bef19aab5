"""A badge image in the form a bake needs, baked.

`.png`: a PNG as it is, another raster image (JPEG, GIF, WebP) decoded and encoded again as a
PNG (Pillow), an SVG rasterised (resvg). `.svg`: an SVG as it is, a raster image wrapped in one
(`baking.svg_form`). CPU-bound and synchronous: callers run `bake` off the event loop.

An SVG is rasterised on the server, so it must not reach anything there: resvg reads the files an
`<image href="/...">` names, so every reference but one inside the document (`#id`) or a raster
`data:` URI is dropped first (a nested `data:image/svg+xml` could name files in turn).
"""

from __future__ import annotations

import io
from typing import Literal

import resvg_py
from PIL import Image, ImageOps, UnidentifiedImageError

from services.issuer.ob3 import baking
from services.issuer.ob3.baking import InvalidImage, Standard

# A raster image is decoded only up to this size; badge images are a few hundred pixels a side.
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096
# An SVG is rendered to fit a square of this side (larger than any badge is shown), whatever
# size it declares: a declared size of a million pixels costs no more.
RENDER_SIDE = 512
# Modes a PNG holds as they are; any other (CMYK, YCbCr) is converted to RGBA.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})
_SAFE_DATA = (
    "data:image/png",
    "data:image/jpeg",
    "data:image/jpg",
    "data:image/gif",
    "data:image/webp",
)

Form = Literal["png", "svg"]


def bake(
    image: bytes, text: str, standard: Standard, form: Form, *, verify: str | None = None
) -> bytes:
    """`image` in `form` carrying `text` (and, in an SVG, `verify`)."""
    if form == "png":
        return baking.bake_png(png_form(image), text, standard)
    return baking.bake_svg(baking.svg_form(image), json=text, verify=verify, standard=standard)


def png_form(image: bytes) -> bytes:
    kind = baking.sniff(image)
    if kind == "png":
        return image
    if kind == "svg":
        return rasterise(image)
    if kind is None:
        raise InvalidImage("not a PNG, SVG, JPEG, GIF or WebP image")
    return reencode(image)


def reencode(image: bytes) -> bytes:
    """A JPEG, GIF or WebP as a PNG: its first frame, turned upright as its EXIF says."""
    kind = baking.sniff(image)
    width, height = baking.size(image)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise InvalidImage(f"{width} x {height} pixels: at most {MAX_SIDE} a side")
    try:
        with Image.open(io.BytesIO(image)) as opened:
            if (opened.width, opened.height) != (width, height):
                raise InvalidImage(f"damaged {kind} header")
            opened.seek(0)
            frame = ImageOps.exif_transpose(opened)
            if frame.mode not in _PNG_MODES:
                frame = frame.convert("RGBA")
            out = io.BytesIO()
            frame.save(out, "PNG", optimize=False)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, EOFError, Image.DecompressionBombError):
        raise InvalidImage(f"the {kind} image cannot be decoded") from None


def rasterise(svg: bytes) -> bytes:
    """An SVG as a PNG that fits RENDER_SIDE, rendered without reaching any file."""
    markup = self_contained(svg)
    try:
        return resvg_py.svg_to_bytes(svg_string=markup, width=RENDER_SIDE, height=RENDER_SIDE)
    except ValueError as error:
        raise InvalidImage(f"the SVG cannot be rendered: {error}") from None


def self_contained(svg: bytes) -> str:
    """The SVG (refused as a bake refuses it) without any reference outside itself: every
    `href` (`xlink:href` included) but `#id` and raster `data:` URIs is removed."""
    document, root = baking.parse_svg(svg)
    try:
        for element in [root, *root.getElementsByTagName("*")]:
            for name in list(element.attributes.keys()):
                if name.rsplit(":", 1)[-1] != "href":
                    continue
                value = element.getAttribute(name).strip()
                if not (value.startswith("#") or value.lower().startswith(_SAFE_DATA)):
                    element.removeAttribute(name)
        return root.toxml()
    finally:
        document.unlink()
