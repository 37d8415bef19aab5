"""Baking a credential into its badge image (services/issuer/handlers/baking.py): an image
given as bytes or fetched from its URL (once, then kept), and every way an image can be
unusable answered as a 422, never a 500."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pydantic
import pytest
from aiohttp import web
from openbadgeslib import baking as reference
from PIL import Image

from services.issuer.deps import Deps
from services.issuer.fetcher import Fetcher
from services.issuer.handlers import baking
from shared.errors import UnusableImage
from shared.messages.baking import BakeImage
from tests.support.local_http import serving
from tests.unit.issuer.fakes import request_context

CREDENTIAL = '{"id":"https://badges.example.org/public/credentials/a1"}'
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'
UNSAFE_SVG = b'<!DOCTYPE svg [<!ENTITY e "x">]><svg xmlns="http://www.w3.org/2000/svg">&e;</svg>'


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 12), "blue").save(out, "JPEG")
    return out.getvalue()


@dataclass
class Server:
    url: str = ""
    hits: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    served = Server()
    bodies = {"badge.jpg": jpeg(), "badge.svg": SVG, "unsafe.svg": UNSAFE_SVG}

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        served.hits[name] = served.hits.get(name, 0) + 1
        if name == "big":
            return web.Response(body=b"\x89PNG" + b"0" * 5000, content_type="image/png")
        if name not in bodies:
            return web.Response(status=404)
        return web.Response(body=bodies[name], content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    async with serving(app) as served.url:
        yield served


async def bake(deps: Deps, **fields: object) -> dict[str, str]:
    query = BakeImage.model_validate({"text": CREDENTIAL, "standard": "ob3", **fields})
    try:
        return await baking.bake_image(query, request_context(deps, query))
    finally:
        await deps.image_fetcher.stop()


class TestGivenBytes:
    @pytest.mark.parametrize("image", [jpeg(), SVG], ids=["jpeg", "svg"])
    async def test_a_png_carrying_the_text_comes_back(self, deps: Deps, image: bytes) -> None:
        found = await bake(deps, format="png", image=base64.b64encode(image).decode())

        assert found["contentType"] == "image/png"
        png = base64.b64decode(found["data"])
        assert reference.extract_png(png, keyword=b"openbadgecredential") == CREDENTIAL

    async def test_an_svg_carrying_the_text_comes_back(self, deps: Deps) -> None:
        found = await bake(deps, format="svg", image=base64.b64encode(jpeg()).decode())

        assert found["contentType"] == "image/svg+xml"
        drawing = base64.b64decode(found["data"])
        extracted = reference.extract_svg(
            drawing, element="openbadges:credential", text_fallback=True
        )
        assert extracted == CREDENTIAL

    @pytest.mark.parametrize("form", ["png", "svg"])
    async def test_an_unsafe_svg_is_a_422(self, deps: Deps, form: str) -> None:
        with pytest.raises(UnusableImage, match="cannot be baked: SVG") as raised:
            await bake(deps, format=form, image=base64.b64encode(UNSAFE_SVG).decode())
        assert raised.value.status == 422

    async def test_bytes_of_no_image_are_a_422(self, deps: Deps) -> None:
        with pytest.raises(UnusableImage, match="not a PNG, SVG, JPEG, GIF or WebP"):
            await bake(deps, format="png", image=base64.b64encode(b"plain text").decode())

    async def test_an_image_past_the_limit_is_a_422(
        self, deps: Deps, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(baking, "IMAGE_MAX_BYTES", 100)
        with pytest.raises(UnusableImage, match="larger than"):
            await bake(deps, format="png", image=base64.b64encode(jpeg()).decode())


class TestFromItsUrl:
    async def test_fetched_once_for_many_bakes(self, deps: Deps, server: Server) -> None:
        url = f"{server.url}/badge.jpg"
        query = BakeImage(text=CREDENTIAL, standard="ob3", format="png", image_url=url)
        try:
            for form in ("png", "svg", "png"):
                query = query.model_copy(update={"format": form})
                await baking.bake_image(query, request_context(deps, query))
        finally:
            await deps.image_fetcher.stop()

        assert server.hits == {"badge.jpg": 1}

    async def test_an_unsafe_svg_at_a_url_is_a_422(self, deps: Deps, server: Server) -> None:
        with pytest.raises(UnusableImage, match="SVG"):
            await bake(deps, format="svg", image_url=f"{server.url}/unsafe.svg")

    async def test_an_answer_other_than_200_is_a_422(self, deps: Deps, server: Server) -> None:
        with pytest.raises(UnusableImage, match="answered 404"):
            await bake(deps, format="png", image_url=f"{server.url}/missing.png")

    async def test_an_answer_past_the_fetchers_limit_is_a_422(
        self, deps: Deps, server: Server
    ) -> None:
        with pytest.raises(UnusableImage, match="cannot be fetched: the answer is larger than"):
            await bake(deps, format="png", image_url=f"{server.url}/big")

    async def test_a_private_address_is_refused_by_the_guard(
        self, deps: Deps, server: Server
    ) -> None:
        guarded = dataclasses.replace(deps, image_fetcher=Fetcher(allow_private=False))
        with pytest.raises(UnusableImage, match="cannot be fetched: refused"):
            await bake(guarded, format="png", image_url=f"{server.url}/badge.jpg")
        assert server.hits == {}


def test_exactly_one_of_the_image_and_its_url() -> None:
    with pytest.raises(pydantic.ValidationError, match="exactly one of image and imageUrl"):
        BakeImage(text="{}", standard="ob3", format="png")
    with pytest.raises(pydantic.ValidationError, match="exactly one of image and imageUrl"):
        BakeImage(text="{}", standard="ob3", format="png", image="AA==", image_url="https://x")
