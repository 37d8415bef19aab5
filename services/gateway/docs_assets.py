"""The files `/docs` loads: Swagger UI's, from the installed `swagger-ui-py` package (nothing is
fetched at run time), and the gateway's own script and stylesheet (`static/`), served as static
files (`static_files`) under `/docs/assets/`. They are read and compressed once, on the first
request for the page or a file."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from services.gateway.static_files import StaticFiles

ASSETS_PATH = "/docs/assets"
_OWN = Path(__file__).parent / "static"
# Swagger UI's bundle (React and every plugin in one file) and its stylesheet; the standalone
# preset (a top bar to type a document URL into) is not used.
_SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_OWN_FILES = ("docs.js", "docs.css")


def swagger_ui_dir() -> Path:
    """Swagger UI's static files in the installed package, found without importing it (its
    module imports jinja2 and YAML for handlers the gateway does not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(spec.origin).parent / "static"


@cache
def assets() -> StaticFiles:
    paths = [swagger_ui_dir() / name for name in _SWAGGER_UI_FILES]
    paths += [_OWN / name for name in _OWN_FILES]
    return StaticFiles(f"{ASSETS_PATH}/", paths)
