"""What the award page offers to share an award: LinkedIn's "Add to profile" link and a QR code
of the award's URL, drawn on the server as SVG."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode

import segno
from markupsafe import Markup

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def linkedin_url(
    *,
    name: str,
    organization: str,
    issued: datetime | None,
    expires: datetime | None,
    url: str,
    cert_id: str,
) -> str:
    """LinkedIn's "Add license or certification" form, filled in."""
    parameters: list[tuple[str, str | int]] = [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", name),
        ("organizationName", organization),
    ]
    if issued is not None:
        parameters += [("issueYear", issued.year), ("issueMonth", issued.month)]
    if expires is not None:
        parameters += [("expirationYear", expires.year), ("expirationMonth", expires.month)]
    parameters += [("certUrl", url), ("certId", cert_id)]
    return f"{LINKEDIN_ADD}?{urlencode(parameters)}"


@lru_cache(maxsize=4096)
def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of `url` (only paths and a title of our own: safe to embed)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(
        scale=4,
        dark="#000",
        light="#fff",
        title="QR code of this page's address",
        svgclass="qr",
        omitsize=True,
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))
