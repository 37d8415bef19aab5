"""The files `/docs` loads: Swagger UI's, from the installed `swagger-ui-py` package (nothing is
fetched at run time), and the gateway's own script and stylesheet (`static/`).

Each is served as `/docs/assets/<name>.<digest><suffix>`: a new version of a file has a new URL,
so browsers and CDNs may keep every file for a year. They are read and compressed once, on the
first request for the page or a file."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

ASSETS_PATH = "/docs/assets"
_OWN = Path(__file__).parent / "static"
# Swagger UI's bundle (React and every plugin in one file) and its stylesheet; the standalone
# preset (a top bar to type a document URL into) is not used.
_SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_OWN_FILES = ("docs.js", "docs.css")
_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Already compressed formats gain nothing from gzip.
_COMPRESSIBLE = (".js", ".css")


@dataclass(frozen=True)
class Asset:
    content_type: str
    body: bytes
    gzipped: bytes | None


@dataclass(frozen=True)
class Assets:
    # A file's own name (`docs.js`) → the URL it is served at.
    urls: dict[str, str]
    # The last segment of that URL → the file.
    files: dict[str, Asset]


def swagger_ui_dir() -> Path:
    """Swagger UI's static files in the installed package, found without importing it (its
    module imports jinja2 and YAML for handlers the gateway does not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(spec.origin).parent / "static"


def _asset(path: Path) -> tuple[str, Asset]:
    body = path.read_bytes()
    name = PurePosixPath(path.name)
    digest = hashlib.sha256(body).hexdigest()[:12]
    served = f"{name.stem}.{digest}{name.suffix}"
    gzipped = gzip.compress(body, mtime=0) if name.suffix in _COMPRESSIBLE else None
    return served, Asset(_CONTENT_TYPES[name.suffix], body, gzipped)


@cache
def assets() -> Assets:
    paths = [swagger_ui_dir() / name for name in _SWAGGER_UI_FILES]
    paths += [_OWN / name for name in _OWN_FILES]
    urls: dict[str, str] = {}
    files: dict[str, Asset] = {}
    for path in paths:
        served, asset = _asset(path)
        urls[path.name] = f"{ASSETS_PATH}/{served}"
        files[served] = asset
    return Assets(urls, files)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` header allows gzip (`gzip;q=0` refuses it)."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(quality) > 0
            except ValueError:
                return False
    return False
