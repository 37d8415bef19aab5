"""Baked badges: a credential carried inside its badge image, PNG or SVG.

The carriers follow the baking sections of Open Badges 3.0 (§ Baked Badge) and of the Open
Badges 2.0 Baking Specification:
- PNG: one uncompressed `iTXt` chunk before `IEND`, keyword `openbadgecredential` (OB 3.0: the
  credential's JSON, or its VC-JWT) or `openbadges` (OB 2.0: the assertion's JSON).
- SVG: `xmlns:openbadges` on the root `<svg>` (`https://purl.imsglobal.org/ob/v3p0` for OB 3.0,
  `http://openbadges.org` for OB 2.0) and, as its first child, `<openbadges:credential>` (OB 3.0)
  or `<openbadges:assertion>` (OB 2.0) holding the JSON in CDATA, or a `verify` attribute
  (OB 3.0: the VC-JWT; OB 2.0: the hosted assertion's URL, beside its JSON).
Baking replaces an earlier bake of the same version (in an SVG, of either version: both bind
the `openbadges` prefix on the root, so one SVG carries one of them). A raster image that is
not a PNG is wrapped in an SVG, so every badge has an SVG form.

SVG is XML from users: it is parsed without DTD processing, entities or external resources. A
document type declaration with an internal subset is refused; a bare one (`<!DOCTYPE svg
PUBLIC ...>`, as some editors write) is harmless, never fetched, and left out of the result.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from typing import Literal, NoReturn
from xml.dom import Node
from xml.dom.minidom import Document, Element
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.minidom import parseString

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XMLNS_NS = "http://www.w3.org/2000/xmlns/"
PREFIX = "openbadges"
# A baked text is a credential of a few kilobytes; compressed ones (which the specifications
# forbid, but other bakers write) may not inflate past this when read.
MAX_TEXT_BYTES = 1 << 20

ImageKind = Literal["png", "svg", "jpeg", "gif", "webp"]
MEDIA_TYPES: dict[ImageKind, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}


@dataclass(frozen=True)
class Standard:
    """The names under which one version of Open Badges bakes."""

    png_keyword: bytes
    svg_namespace: str
    svg_element: str


OB3 = Standard(b"openbadgecredential", "https://purl.imsglobal.org/ob/v3p0", "credential")
OB2 = Standard(b"openbadges", "http://openbadges.org", "assertion")
_STANDARDS = (OB3, OB2)


class InvalidImage(ValueError):
    """Not an image of the kind expected, or a damaged one."""


class UnsafeSvg(InvalidImage):
    """An SVG with entities, an internal DTD subset or external entities: refused unread."""


# -- PNG ----------------------------------------------------------------------------------------


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG up to `IEND`, each CRC checked."""
    if not png.startswith(PNG_SIGNATURE):
        raise InvalidImage("not a PNG")
    chunks, offset = [], len(PNG_SIGNATURE)
    while True:
        if offset + 8 > len(png):
            raise InvalidImage("PNG ends before IEND")
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        end = offset + 8 + length
        if end + 4 > len(png):
            raise InvalidImage("PNG chunk runs past the end of the file")
        data = png[offset + 8 : end]
        (crc,) = struct.unpack(">I", png[end : end + 4])
        if zlib.crc32(kind + data) != crc:
            raise InvalidImage(f"PNG chunk {kind!r} has a bad CRC")
        chunks.append((kind, data))
        if kind == b"IEND":
            break
        offset = end + 4
    if chunks[0][0] != b"IHDR":
        raise InvalidImage("PNG does not start with IHDR")
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _keyword(kind: bytes, data: bytes) -> bytes | None:
    """The keyword of a text chunk (`tEXt`, `zTXt`, `iTXt`), else None."""
    if kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    return data.split(b"\x00", 1)[0]


def bake_png(png: bytes, text: str, standard: Standard = OB3) -> bytes:
    """`png` carrying `text`, replacing any text chunk of the same keyword (the OB 2.0
    keyword's legacy `tEXt` included)."""
    kept = [
        (kind, data) for kind, data in _chunks(png) if _keyword(kind, data) != standard.png_keyword
    ]
    # keyword, NUL, compression flag 0 and method 0, empty language tag and translated keyword.
    itxt = standard.png_keyword + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    kept.insert(len(kept) - 1, (b"iTXt", itxt))
    return PNG_SIGNATURE + b"".join(_chunk(kind, data) for kind, data in kept)


def extract_png(png: bytes, standard: Standard = OB3) -> str | None:
    """The text of the first `iTXt` chunk of the standard's keyword, if any."""
    for kind, data in _chunks(png):
        if kind != b"iTXt" or _keyword(kind, data) != standard.png_keyword:
            continue
        rest = data[len(standard.png_keyword) + 1 :]
        if len(rest) < 2 or rest.count(b"\x00", 2) < 2:
            raise InvalidImage("damaged iTXt chunk")
        compressed = rest[0] == 1
        _language, _translated, body = rest[2:].split(b"\x00", 2)
        if compressed:
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, MAX_TEXT_BYTES)
            except zlib.error:
                raise InvalidImage("damaged compressed iTXt text") from None
            if inflater.unconsumed_tail:
                raise InvalidImage(f"iTXt text inflates past {MAX_TEXT_BYTES} bytes")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidImage("iTXt text is not UTF-8") from None
    return None


# -- SVG ----------------------------------------------------------------------------------------


def _refuse(*_args: object) -> NoReturn:
    raise UnsafeSvg("SVG declares entities or references external resources")


def _screen(svg: bytes) -> None:
    """Refuse, before any DOM is built, what expat would otherwise act on: an internal DTD
    subset (where entities are declared), entity declarations, external references."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(_name: str, _system: str | None, _public: str | None, internal: int) -> None:
        if internal:
            raise UnsafeSvg("SVG has an internal DTD subset")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SkippedEntityHandler = _refuse
    try:
        parser.Parse(svg, True)
    except expat.ExpatError as error:
        raise InvalidImage(f"not well-formed XML: {error}") from None


def _parse(svg: bytes) -> tuple[Document, Element]:
    _screen(svg)
    try:
        # The stub says str; the parser takes bytes, and bytes keep the XML declaration's
        # encoding meaningful.
        document = parseString(
            svg,  # type: ignore[arg-type]
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        )
    except DefusedXmlException as error:
        raise UnsafeSvg(str(error)) from None
    except expat.ExpatError as error:
        raise InvalidImage(f"not well-formed XML: {error}") from None
    root = document.documentElement
    if root is None or root.namespaceURI != SVG_NS or root.localName != "svg":
        raise InvalidImage("the root element is not an SVG <svg>")
    return document, root


def parse_svg(svg: bytes) -> tuple[Document, Element]:
    """An SVG parsed as a bake parses it (refused with `UnsafeSvg` or `InvalidImage` as there),
    and its root `<svg>`; the caller unlinks the document."""
    return _parse(svg)


def _baked(root: Element) -> list[Element]:
    """The elements an earlier bake left: any element in either standard's namespace."""
    namespaces = {standard.svg_namespace for standard in _STANDARDS}
    found = []
    for node in root.getElementsByTagName("*"):
        if node.namespaceURI in namespaces:
            found.append(node)
    return found


def _cdata(document: Document, element: Element, text: str) -> None:
    """`text` as CDATA: a CDATA section cannot hold `]]>`, so such text is split there."""
    parts = text.split("]]>")
    for number, part in enumerate(parts):
        head = ">" if number else ""
        tail = "]]" if number < len(parts) - 1 else ""
        element.appendChild(document.createCDATASection(head + part + tail))


def bake_svg(
    svg: bytes, *, json: str | None = None, verify: str | None = None, standard: Standard = OB3
) -> bytes:
    """`svg` carrying a credential: `json` goes in CDATA, `verify` in the attribute (OB 3.0:
    one of them; OB 2.0 hosted: the assertion's JSON and its URL)."""
    if json is None and verify is None:
        raise ValueError("nothing to bake")
    document, root = _parse(svg)
    try:
        for node in _baked(root):
            parent = node.parentNode
            if parent is not None:
                parent.removeChild(node).unlink()
        if document.doctype is not None:
            document.removeChild(document.doctype).unlink()
        if root.hasAttribute(f"xmlns:{PREFIX}"):
            root.removeAttribute(f"xmlns:{PREFIX}")
        root.setAttributeNS(XMLNS_NS, f"xmlns:{PREFIX}", standard.svg_namespace)
        element = document.createElementNS(
            standard.svg_namespace, f"{PREFIX}:{standard.svg_element}"
        )
        if verify is not None:
            element.setAttribute("verify", verify)
        if json is not None:
            _cdata(document, element, json)
        root.insertBefore(element, root.firstChild)
        return document.toxml(encoding="utf-8")
    finally:
        document.unlink()


def extract_svg(svg: bytes, standard: Standard = OB3) -> str | None:
    """What the first element of the standard carries: its JSON when it has a body, else its
    `verify` attribute (a VC-JWT, or an OB 2.0 hosted assertion's URL)."""
    document, root = _parse(svg)
    try:
        for node in root.getElementsByTagNameNS(standard.svg_namespace, standard.svg_element):
            body = "".join(
                child.data
                for child in node.childNodes
                if child.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE)
            ).strip()
            if body:
                return body
            return node.getAttribute("verify") or None
        return None
    finally:
        document.unlink()


# -- other images -------------------------------------------------------------------------------


def sniff(image: bytes) -> ImageKind | None:
    """The kind of an image from its first bytes (an SVG: XML whose root is `<svg>`)."""
    if image.startswith(PNG_SIGNATURE):
        return "png"
    if image.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if image[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "webp"
    head = image[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and b"<svg" in head:
        return "svg"
    return None


def size(image: bytes) -> tuple[int, int]:
    """The width and height in pixels of a PNG, JPEG, GIF or WebP, read from its header."""
    kind = sniff(image)
    try:
        if kind == "png":
            width, height = struct.unpack(">II", image[16:24])
        elif kind == "gif":
            width, height = struct.unpack("<HH", image[6:10])
        elif kind == "jpeg":
            width, height = _jpeg_size(image)
        elif kind == "webp":
            width, height = _webp_size(image)
        else:
            raise InvalidImage("not a raster image of a known kind")
    except struct.error:
        raise InvalidImage(f"{kind} header is cut short") from None
    if not width or not height:
        raise InvalidImage(f"{kind} without a size")
    return width, height


# JPEG start-of-frame markers: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(image: bytes) -> tuple[int, int]:
    offset = 2
    while offset + 4 <= len(image):
        if image[offset] != 0xFF:
            raise InvalidImage("damaged JPEG marker")
        marker = image[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            offset += 2
            continue
        (length,) = struct.unpack(">H", image[offset + 2 : offset + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", image[offset + 5 : offset + 9])
            return width, height
        offset += 2 + length
    raise InvalidImage("JPEG without a frame header")


def _webp_size(image: bytes) -> tuple[int, int]:
    chunk = image[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(image[24:27], "little") + 1
        height = int.from_bytes(image[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(image[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", image[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise InvalidImage("unknown WebP encoding")


def wrap_raster(image: bytes) -> bytes:
    """A raster image as an SVG of the same size showing it (a `data:` URI), for badges whose
    image is not an SVG: the SVG is what gets baked."""
    kind = sniff(image)
    if kind is None or kind == "svg":
        raise InvalidImage("not a raster image of a known kind")
    width, height = size(image)
    data = base64.b64encode(image).decode("ascii")
    # `xlink:href` rather than SVG 2's `href`: every renderer still reads it.
    return (
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
        f'xlink:href="data:{MEDIA_TYPES[kind]};base64,{data}"/></svg>'
    ).encode("ascii")


def svg_form(image: bytes) -> bytes:
    """The image to bake as SVG: an SVG as it is, any other raster image wrapped."""
    if sniff(image) == "svg":
        return image
    return wrap_raster(image)
