"""Baked badges: the issuer bakes a credential or an assertion into its badge image, which the
gateway gathers (`GET /public/credentials/<slug>/badge.png` and the like)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.messages.base import Query


class BakeImage(Query):
    """`text` (an OB 3.0 credential's JSON-LD, or an OB 2.0 assertion's JSON) baked into the
    badge's image as a PNG or an SVG. The image comes as its bytes (`image`, base64: one of
    ours, read from the badges service) or as a URL the issuer fetches through its SSRF guard.
    `verify` is what an SVG's `verify` attribute carries beside the JSON (an OB 2.0 hosted
    assertion's URL). The reply: `{data (base64), contentType}`."""

    TYPE = "issuer.bake_image"
    text: str
    standard: Literal["ob3", "ob2"]
    format: Literal["png", "svg"]
    image: str | None = None
    image_url: Annotated[str | None, Field(max_length=2048)] = None
    verify: Annotated[str | None, Field(max_length=2048)] = None

    @model_validator(mode="after")
    def _one_image(self) -> BakeImage:
        if (self.image is None) == (self.image_url is None):
            raise ValueError("exactly one of image and imageUrl")
        return self
