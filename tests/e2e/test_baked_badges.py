"""Baked badges through the running system: for a badge whose image is an uploaded PNG, an
uploaded SVG, or a JPEG at an outside URL (served here, fetched once), the award's OB 3.0
credential and OB 2.0 assertion baked in PNG and SVG, read back with an independent library
(openbadgeslib) as exactly what the gateway serves; the baked credential verifies, with
openbadgeslib and with `POST /public/verify`; unknown awards, revoked assertions and unsafe
images answer 404, 410 and 422."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from xml.dom.minidom import parseString as parse_trusted

import aiohttp
import pytest
from aiohttp import web
from openbadgeslib import baking as reference
from PIL import Image

from tests.e2e.test_instances_api import award, email
from tests.e2e.test_open_badges_3 import verify_ldp
from tests.support.client import Client
from tests.support.factories import make_badge
from tests.support.local_http import serving

pytestmark = pytest.mark.e2e

OB3_KEYWORD = b"openbadgecredential"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="90" viewBox="0 0 90 90">'
    b'<circle id="badge-disc" cx="45" cy="45" r="40" fill="#c00"/></svg>'
)
# Accepted as an upload (it starts as an SVG), refused when baked: an internal DTD subset.
UNSAFE_SVG = b'<!DOCTYPE svg []><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'


def raster(kind: str, color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, kind)
    return out.getvalue()


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode()


@dataclass
class ImageHost:
    """Badge images at outside URLs, with the requests each got."""

    url: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    jpeg: bytes = field(default_factory=lambda: raster("JPEG", "blue"))


@pytest.fixture
async def image_host() -> AsyncIterator[ImageHost]:
    host = ImageHost()

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        host.hits[name] = host.hits.get(name, 0) + 1
        if name == "badge.jpg":
            return web.Response(body=host.jpeg, content_type="image/jpeg")
        if name == "unsafe.svg":
            return web.Response(body=UNSAFE_SVG, content_type="image/svg+xml")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with serving(app) as host.url:
        yield host


@dataclass(frozen=True)
class Download:
    status: int
    headers: Any
    body: bytes


async def download(http: aiohttp.ClientSession, url: str) -> Download:
    async with http.get(url) as response:
        return Download(response.status, response.headers, await response.read())


async def served(http: aiohttp.ClientSession, url: str) -> str:
    """A public document's body as served (JSON)."""
    async with http.get(url, headers={"Accept": "application/json"}) as response:
        assert response.status == 200, await response.text()
        return await response.text()


def svg_children(svg: bytes) -> list[str]:
    root = parse_trusted(svg).documentElement
    assert root is not None
    return [node.tagName for node in root.childNodes if node.nodeType == node.ELEMENT_NODE]


def cdata(svg: bytes, element: str) -> str:
    node = parse_trusted(svg).getElementsByTagName(element)[0]
    return "".join(child.data for child in node.childNodes).strip()


@dataclass(frozen=True)
class Baked:
    credential_png: Download
    credential_svg: Download
    assertion_png: Download
    assertion_svg: Download


async def baked_of(http: aiohttp.ClientSession, instance: dict[str, Any]) -> Baked:
    credential, assertion = instance["openBadgeCredentialUrl"], instance["assertionUrl"]
    return Baked(
        await download(http, f"{credential}/badge.png"),
        await download(http, f"{credential}/badge.svg"),
        await download(http, f"{assertion}/badge.png"),
        await download(http, f"{assertion}/badge.svg"),
    )


async def check_baked(
    client: Client, http: aiohttp.ClientSession, instance: dict[str, Any]
) -> Baked:
    """Every baked form carries exactly what the gateway serves, and the credential verifies."""
    baked = await baked_of(http, instance)
    for answer in (baked.credential_png, baked.credential_svg):
        assert answer.status == 200, answer.body
        assert answer.headers["Cache-Control"] == "public, max-age=86400"
    for answer in (baked.assertion_png, baked.assertion_svg):
        assert answer.status == 200, answer.body
        assert answer.headers["Cache-Control"] == "public, max-age=60"
    for answer in (baked.credential_png, baked.assertion_png):
        assert answer.headers["Content-Type"] == "image/png"
        assert answer.headers["Content-Disposition"] == f'inline; filename="{instance["slug"]}.png"'
        Image.open(io.BytesIO(answer.body)).load()  # a PNG that decodes
    for answer in (baked.credential_svg, baked.assertion_svg):
        assert answer.headers["Content-Type"] == "image/svg+xml"
        assert "sandbox" in answer.headers["Content-Security-Policy"]

    credential = await served(http, instance["openBadgeCredentialUrl"])
    assert reference.extract_png(baked.credential_png.body, keyword=OB3_KEYWORD) == credential
    in_svg = reference.extract_svg(
        baked.credential_svg.body, element="openbadges:credential", text_fallback=True
    )
    assert in_svg == credential

    assertion = await served(http, instance["assertionUrl"])
    assert json.loads(reference.extract_png(baked.assertion_png.body)) == json.loads(assertion)
    # OB 2.0 SVG: the hosted assertion's URL in `verify`, its JSON beside it.
    assert reference.extract_svg(baked.assertion_svg.body) == instance["assertionUrl"]
    assert json.loads(cdata(baked.assertion_svg.body, "openbadges:assertion")) == json.loads(
        assertion
    )

    verified = await verify_ldp(client, json.loads(reference_text(baked.credential_png.body)))
    assert verified is not None
    async with http.post(
        f"{client.base_url}/public/verify",
        data=baked.credential_png.body,
        headers={"Content-Type": "image/png"},
    ) as response:
        report = await response.json()
    assert response.status == 200, report
    assert report["verified"] is True, report
    return baked


def reference_text(png: bytes) -> str:
    text = reference.extract_png(png, keyword=OB3_KEYWORD)
    assert isinstance(text, str)
    return text


class TestBakedBadges:
    async def test_an_uploaded_png_is_baked_as_it_is_and_wrapped_in_an_svg(
        self, client: Client, http: aiohttp.ClientSession
    ) -> None:
        png = raster("PNG")
        badge = await make_badge(client, image=data_url(png, "image/png"))
        instance = await award(client, badge, email())

        baked = await check_baked(client, http, instance)

        original = Image.open(io.BytesIO(png)).convert("RGBA")
        for answer in (baked.credential_png, baked.assertion_png):
            pixels = Image.open(io.BytesIO(answer.body)).convert("RGBA")
            assert pixels.tobytes() == original.tobytes()
        children = svg_children(baked.credential_svg.body)
        assert children == ["openbadges:credential", "image"]

    async def test_an_uploaded_svg_is_baked_as_it_is_and_rasterised(
        self, client: Client, http: aiohttp.ClientSession
    ) -> None:
        badge = await make_badge(client, image=data_url(SVG, "image/svg+xml"))
        instance = await award(client, badge, email())

        baked = await check_baked(client, http, instance)

        for answer in (baked.credential_svg, baked.assertion_svg):
            assert b'id="badge-disc"' in answer.body
        rendered = Image.open(io.BytesIO(baked.credential_png.body)).convert("RGBA")
        assert rendered.size == (512, 512)
        assert rendered.getpixel((256, 256)) == (204, 0, 0, 255)  # the disc's #c00

    async def test_an_image_at_an_outside_url_is_fetched_once(
        self, client: Client, http: aiohttp.ClientSession, image_host: ImageHost
    ) -> None:
        badge = await make_badge(client, imageUrl=f"{image_host.url}/badge.jpg")
        first = await award(client, badge, email())
        second = await award(client, badge, email())

        baked = await check_baked(client, http, first)
        await check_baked(client, http, second)

        assert image_host.hits == {"badge.jpg": 1}
        pixel = Image.open(io.BytesIO(baked.credential_png.body)).convert("RGB").getpixel((5, 5))
        assert isinstance(pixel, tuple)
        assert pixel[2] > 240 and pixel[0] < 15  # noqa: PT018 - blue, as the JPEG
        assert b"data:image/jpeg;base64," in baked.credential_svg.body


class TestRefusals:
    @pytest.mark.parametrize("kind", ["credentials", "assertions"])
    @pytest.mark.parametrize("form", ["png", "svg"])
    async def test_an_unknown_award_is_a_404(
        self, client: Client, http: aiohttp.ClientSession, kind: str, form: str
    ) -> None:
        answer = await download(http, f"{client.base_url}/public/{kind}/no-such-award/badge.{form}")
        assert answer.status == 404
        assert json.loads(answer.body)["code"] == "ResourceNotFound"

    async def test_a_revoked_assertion_is_no_longer_baked_its_signed_credential_still_is(
        self, client: Client, http: aiohttp.ClientSession
    ) -> None:
        badge = await make_badge(client, image=data_url(raster("PNG"), "image/png"))
        recipient = email()
        instance = await award(client, badge, recipient)
        answer = await client.delete(f"{badge}/instances/{recipient}")
        assert answer.status == 200, answer.body

        baked = await baked_of(http, instance)

        for refused in (baked.assertion_png, baked.assertion_svg):
            assert refused.status == 410
            assert json.loads(refused.body)["code"] == "ResourceGone"
        assert baked.credential_png.status == 200
        assert baked.credential_svg.status == 200

    @pytest.mark.parametrize("where", ["uploaded", "outside"])
    async def test_an_unsafe_svg_is_a_422_never_a_500(
        self, client: Client, http: aiohttp.ClientSession, image_host: ImageHost, where: str
    ) -> None:
        image = (
            {"image": data_url(UNSAFE_SVG, "image/svg+xml")}
            if where == "uploaded"
            else {"imageUrl": f"{image_host.url}/unsafe.svg"}
        )
        badge = await make_badge(client, **image)
        instance = await award(client, badge, email())

        baked = await baked_of(http, instance)

        for answer in (baked.credential_png, baked.credential_svg, baked.assertion_png):
            assert answer.status == 422, answer.body
            error = json.loads(answer.body)
            assert error["code"] == "UnusableImage"
            assert "internal DTD subset" in error["message"]

    async def test_an_outside_url_that_answers_404_is_a_422(
        self, client: Client, http: aiohttp.ClientSession, image_host: ImageHost
    ) -> None:
        badge = await make_badge(client, imageUrl=f"{image_host.url}/missing.png")
        instance = await award(client, badge, email())

        answer = await download(http, f"{instance['openBadgeCredentialUrl']}/badge.png")

        assert answer.status == 422
        assert "answered 404" in json.loads(answer.body)["message"]
