"""Static files by digest names: the one way the gateway serves the pages' and `/docs`'s files."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from services.gateway.static_files import StaticFiles, accepts_gzip, servable
from shared.errors import NotFound


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "pages.css").write_text("main{color:#000}" * 50)
    (tmp_path / "pages.js").write_text("1")
    (tmp_path / "badge.svg").write_text("<svg/>")
    (tmp_path / "icon.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not served")
    return tmp_path


def served(files: StaticFiles, name: str) -> str:
    return files.url(name).rsplit("/", 1)[1]


def test_only_known_types_are_served(directory: Path) -> None:
    assert [path.name for path in servable(directory)] == [
        "badge.svg",
        "icon.png",
        "pages.css",
        "pages.js",
    ]
    files = StaticFiles("/public/static/", servable(directory))
    with pytest.raises(KeyError):
        files.url("notes.txt")
    with pytest.raises(NotFound):
        files.response("notes.txt")


def test_each_file_is_served_under_a_name_carrying_its_digest(directory: Path) -> None:
    files = StaticFiles("/public/static/", servable(directory))
    url = files.url("pages.css")
    assert re.fullmatch(r"/public/static/pages\.[0-9a-f]{12}\.css", url)
    digest = hashlib.sha256((directory / "pages.css").read_bytes()).hexdigest()[:12]
    assert url.endswith(f"pages.{digest}.css")
    response = files.response(served(files, "pages.css"))
    assert response.body == (directory / "pages.css").read_bytes()
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_changed_file_is_a_new_name_and_the_old_one_is_gone(directory: Path) -> None:
    before = StaticFiles("/s/", servable(directory))
    (directory / "pages.js").write_text("2")
    after = StaticFiles("/s/", servable(directory))
    assert after.url("pages.js") != before.url("pages.js")
    with pytest.raises(NotFound):
        after.response(served(before, "pages.js"))


@pytest.mark.parametrize("name", ["pages.css", "pages.js", "badge.svg"])
def test_text_goes_gzipped_to_who_accepts_it(directory: Path, name: str) -> None:
    files = StaticFiles("/s/", servable(directory))
    gzipped = files.response(served(files, name), "gzip, deflate")
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzipped.headers["Vary"] == "Accept-Encoding"
    assert isinstance(gzipped.body, bytes)
    assert gzip.decompress(gzipped.body) == (directory / name).read_bytes()
    plain = files.response(served(files, name), "identity")
    assert "Content-Encoding" not in plain.headers
    assert plain.body == (directory / name).read_bytes()


def test_an_image_goes_as_it_is(directory: Path) -> None:
    files = StaticFiles("/s/", servable(directory))
    response = files.response(served(files, "icon.png"), "gzip")
    assert response.headers["Content-Type"] == "image/png"
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers


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
