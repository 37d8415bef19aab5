"""The files `/docs` loads: Swagger UI's from the installed package and the gateway's own, each
named by a digest of its content."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from services.gateway.docs_assets import accepts_gzip, assets, swagger_ui_dir


def test_swagger_ui_comes_from_the_installed_package() -> None:
    assert (swagger_ui_dir() / "swagger-ui-bundle.js").is_file()
    assert "site-packages" in str(swagger_ui_dir()) or "swagger_ui" in str(swagger_ui_dir())


def test_each_file_is_served_under_a_name_carrying_its_digest() -> None:
    found = assets()
    assert set(found.urls) == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
        "docs.js",
        "docs.css",
    }
    for name, url in found.urls.items():
        served = url.rsplit("/", 1)[1]
        asset = found.files[served]
        stem, suffix = name.rsplit(".", 1)
        digest = hashlib.sha256(asset.body).hexdigest()[:12]
        assert served == f"{stem}.{digest}.{suffix}"


def test_content_types_and_compression() -> None:
    found = assets()
    by_name = {name: found.files[url.rsplit("/", 1)[1]] for name, url in found.urls.items()}
    assert by_name["docs.js"].content_type == "text/javascript; charset=utf-8"
    assert by_name["swagger-ui.css"].content_type == "text/css; charset=utf-8"
    assert by_name["favicon-32x32.png"].content_type == "image/png"
    assert by_name["favicon-32x32.png"].gzipped is None
    gzipped = by_name["swagger-ui-bundle.js"].gzipped
    assert gzipped is not None
    assert gzip.decompress(gzipped) == by_name["swagger-ui-bundle.js"].body


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected
