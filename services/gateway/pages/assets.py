"""The pages' static files (CSS, the copy-link script, the placeholder image), served from the
gateway under `/public/static/` by names that carry a hash of their bytes, so a browser or a CDN
keeps each for good and a new release is a new name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from shared.errors import NotFound

PREFIX = "/public/static/"
CACHE_CONTROL = "public, max-age=31536000, immutable"
_DIRECTORY = Path(__file__).parent / "static"
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    name: str
    content_type: str
    data: bytes


class Assets:
    """Every file of `static/`, read once: by its hashed name, and the URL path of each."""

    def __init__(self, directory: Path = _DIRECTORY) -> None:
        self._by_hashed: dict[str, Asset] = {}
        self._paths: dict[str, str] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix not in _MEDIA_TYPES:
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:12]
            hashed = f"{path.stem}.{digest}{path.suffix}"
            self._by_hashed[hashed] = Asset(hashed, _MEDIA_TYPES[path.suffix], data)
            self._paths[path.name] = PREFIX + hashed

    def path(self, name: str) -> str:
        """`/public/static/<stem>.<hash>.<suffix>` of the file `name` of `static/`."""
        return self._paths[name]

    def response(self, hashed: str) -> web.Response:
        asset = self._by_hashed.get(hashed)
        if asset is None:
            raise NotFound(f"{PREFIX}{hashed} does not exist")
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Type": asset.content_type,
        }
        return web.Response(body=asset.data, headers=headers)
