"""A badge image in the form a bake needs (services/issuer/ob3/images.py): PNG kept, JPEG, GIF
and WebP re-encoded, SVG rasterised without reaching the server's files, unsafe or damaged
images refused; what is baked is read back by openbadgeslib."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from openbadgeslib import baking as reference
from PIL import Image

from services.issuer.ob3 import images
from services.issuer.ob3.baking import OB2, OB3, InvalidImage, UnsafeSvg

RED = (255, 0, 0, 255)
GREEN = (0, 255, 0, 255)
CREDENTIAL = '{"id":"https://badges.example.org/public/credentials/a1","name":"Lecteur ✓"}'
ASSERTION = '{"id":"https://badges.example.org/public/assertions/a1","type":"Assertion"}'
ASSERTION_URL = "https://badges.example.org/public/assertions/a1"


def raster(
    kind: str, size: tuple[int, int] = (40, 30), color: object = "red", **save: object
) -> bytes:
    mode = "CMYK" if kind == "JPEG" and save.pop("cmyk", False) else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else (0, 255, 255, 0)).save(out, kind, **save)
    return out.getvalue()


def svg(body: str, width: int = 100, height: int = 100) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}">{body}</svg>'
    ).encode()


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGBA")


def centre(png: bytes) -> tuple[int, ...]:
    image = opened(png)
    pixel = image.getpixel((image.width // 2, image.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


class TestPngForm:
    def test_a_png_is_kept_byte_for_byte(self) -> None:
        png = raster("PNG")
        assert images.png_form(png) is png

    def test_a_jpeg_becomes_a_png_of_the_same_size_and_colour(self) -> None:
        png = images.png_form(raster("JPEG", quality=95))
        assert opened(png).size == (40, 30)
        # JPEG is lossy: near the colour drawn.
        assert max(abs(got - want) for got, want in zip(centre(png), RED, strict=True)) < 15

    def test_a_cmyk_jpeg_becomes_an_rgba_png(self) -> None:
        png = images.png_form(raster("JPEG", cmyk=True))
        assert Image.open(io.BytesIO(png)).mode in ("RGB", "RGBA")

    def test_a_jpeg_is_turned_upright_as_its_exif_says(self) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotated 90° clockwise
        png = images.png_form(raster("JPEG", (40, 30), exif=exif.tobytes()))
        assert opened(png).size == (30, 40)

    def test_a_gif_becomes_a_png_of_its_first_frame_keeping_transparency(self) -> None:
        frames = [Image.new("P", (20, 20), 0), Image.new("P", (20, 20), 1)]
        for frame in frames:
            frame.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
        out = io.BytesIO()
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], transparency=1)
        assert centre(images.png_form(out.getvalue())) == RED

        transparent = Image.new("P", (20, 20), 1)
        transparent.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
        out = io.BytesIO()
        transparent.save(out, "GIF", transparency=1)
        assert centre(images.png_form(out.getvalue()))[3] == 0

    def test_a_webp_becomes_a_png(self) -> None:
        png = images.png_form(raster("WEBP", lossless=True))
        assert centre(png) == RED

    def test_an_svg_is_rendered_to_fit_the_render_square(self) -> None:
        png = images.png_form(svg('<rect width="200" height="100" fill="red"/>', 200, 100))
        assert opened(png).size == (images.RENDER_SIDE, images.RENDER_SIDE // 2)
        assert centre(png) == RED

    def test_a_huge_declared_svg_size_costs_no_more(self) -> None:
        png = images.png_form(svg('<rect width="100%" height="100%" fill="red"/>', 10**6, 10**6))
        assert opened(png).size == (images.RENDER_SIDE, images.RENDER_SIDE)

    def test_a_raster_past_the_size_limit_is_refused_before_decoding(self) -> None:
        with pytest.raises(InvalidImage, match="at most 4096 a side"):
            images.png_form(raster("GIF", (images.MAX_SIDE + 1, 2)))

    def test_a_truncated_jpeg_is_refused(self) -> None:
        jpeg = raster("JPEG", (64, 64))
        with pytest.raises(InvalidImage, match="cannot be decoded"):
            images.png_form(jpeg[: len(jpeg) // 2])

    def test_bytes_of_no_known_image_are_refused(self) -> None:
        with pytest.raises(InvalidImage, match="not a PNG, SVG, JPEG, GIF or WebP"):
            images.png_form(b"BM not a bitmap we take")


class TestSvgStaysOnItsOwn:
    """resvg reads the files an `<image>` names: no reference outside the SVG survives."""

    @pytest.fixture
    def green_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "secret.png"
        path.write_bytes(raster("PNG", (10, 10), "#00ff00"))
        return path

    @pytest.mark.parametrize("attribute", ["href", "xlink:href"])
    def test_a_file_on_the_server_is_not_drawn(self, green_file: Path, attribute: str) -> None:
        drawing = svg(f'<image width="100" height="100" {attribute}="{green_file}"/>')
        assert centre(images.rasterise(drawing))[3] == 0

    def test_a_nested_svg_data_uri_is_dropped(self, green_file: Path) -> None:
        # It could name files in turn (this resvg does not follow them; another might).
        inner = svg(f'<image width="100" height="100" href="{green_file}"/>')
        nested = "data:image/svg+xml;base64," + base64.b64encode(inner).decode()
        drawing = svg(f'<image width="100" height="100" href="{nested}"/>')
        assert "data:image/svg+xml" not in images.self_contained(drawing)
        assert centre(images.rasterise(drawing))[3] == 0

    def test_a_raster_data_uri_and_a_local_reference_are_drawn(self) -> None:
        encoded = base64.b64encode(raster("PNG", (10, 10), "#00ff00")).decode()
        drawing = svg(
            f'<defs><image id="g" width="100" height="100"'
            f' xlink:href="data:image/png;base64,{encoded}"/></defs><use href="#g"/>'
        )
        assert centre(images.rasterise(drawing)) == GREEN

    def test_the_original_is_left_as_it_was(self) -> None:
        drawing = svg('<image width="10" height="10" href="/etc/hostname"/>')
        assert 'href="/etc/hostname"' not in images.self_contained(drawing)
        assert b'href="/etc/hostname"' in drawing


class TestUnsafeOrDamagedSvg:
    UNSAFE = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
    )

    @pytest.mark.parametrize("form", ["png", "svg"])
    def test_an_svg_with_entities_is_refused_either_way(self, form: images.Form) -> None:
        with pytest.raises(UnsafeSvg):
            images.bake(self.UNSAFE, CREDENTIAL, OB3, form)

    @pytest.mark.parametrize("form", ["png", "svg"])
    def test_an_svg_that_is_not_xml_is_refused(self, form: images.Form) -> None:
        with pytest.raises(InvalidImage, match="not well-formed"):
            images.bake(b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>", CREDENTIAL, OB3, form)


class TestBake:
    @pytest.mark.parametrize(
        "image",
        [raster("PNG"), raster("JPEG"), raster("GIF"), svg('<circle r="40" cx="50" cy="50"/>')],
        ids=["png", "jpeg", "gif", "svg"],
    )
    def test_every_input_bakes_as_png_and_svg_for_ob3(self, image: bytes) -> None:
        png = images.bake(image, CREDENTIAL, OB3, "png")
        assert reference.extract_png(png, keyword=b"openbadgecredential") == CREDENTIAL
        opened(png)

        drawing = images.bake(image, CREDENTIAL, OB3, "svg")
        extracted = reference.extract_svg(
            drawing, element="openbadges:credential", text_fallback=True
        )
        assert extracted == CREDENTIAL

    def test_ob2_bakes_the_assertion_and_in_svg_its_url(self) -> None:
        png = images.bake(raster("JPEG"), ASSERTION, OB2, "png")
        assert reference.extract_png(png) == ASSERTION

        drawing = images.bake(raster("JPEG"), ASSERTION, OB2, "svg", verify=ASSERTION_URL)
        assert reference.extract_svg(drawing) == ASSERTION_URL
        assert ASSERTION.encode() in drawing
