"""Static files the gateway serves (the public pages' stylesheet and script, the files `/docs`
loads), each under a name that carries a digest of its bytes: `<stem>.<digest><suffix>`. A new
version of a file is a new URL, so browsers and CDNs may keep every one for a year. Files are
read, and those that compress compressed, once; a client that accepts gzip gets it."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from shared.errors import NotFound

# A file's name changes with its bytes: whoever has it may keep it.
IMMUTABLE = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Already compressed formats gain nothing from gzip.
COMPRESSIBLE = frozenset({".css", ".js", ".svg"})


@dataclass(frozen=True)
class StaticFile:
    """A body served as it is, or gzipped (compressed once) to a client that takes gzip."""

    content_type: str
    body: bytes
    gzipped: bytes | None

    @classmethod
    def of(cls, content_type: str, body: bytes, *, compress: bool) -> StaticFile:
        return cls(content_type, body, gzip.compress(body, mtime=0) if compress else None)

    def response(self, accept_encoding: str, headers: dict[str, str]) -> web.Response:
        """The response with `headers`, gzipped if `accept_encoding` allows it."""
        headers = {**headers, "Content-Type": self.content_type}
        body = self.body
        if self.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
            if accepts_gzip(accept_encoding):
                body = self.gzipped
                headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)


def servable(directory: Path) -> list[Path]:
    """The files of `directory` of a type the gateway serves, by name."""
    return sorted(path for path in directory.iterdir() if path.suffix in MEDIA_TYPES)


class StaticFiles:
    """Files served under `prefix` (`/public/static/`): the URL of each by its own name, and
    the response for a URL's last segment."""

    def __init__(self, prefix: str, paths: Iterable[Path]) -> None:
        self._prefix = prefix
        self._files: dict[str, StaticFile] = {}
        self.urls: dict[str, str] = {}  # a file's own name (`pages.css`) -> its URL path
        for path in paths:
            body = path.read_bytes()
            served = f"{path.stem}.{hashlib.sha256(body).hexdigest()[:12]}{path.suffix}"
            self._files[served] = StaticFile.of(
                MEDIA_TYPES[path.suffix], body, compress=path.suffix in COMPRESSIBLE
            )
            self.urls[path.name] = prefix + served

    def url(self, name: str) -> str:
        """The URL path of the file `name` (KeyError for a file that is not served)."""
        return self.urls[name]

    def file(self, served: str) -> StaticFile | None:
        return self._files.get(served)

    def response(self, served: str, accept_encoding: str = "") -> web.Response:
        """The file named `served` (a URL's last segment), gzipped where the client takes it;
        404 for any other name."""
        found = self._files.get(served)
        if found is None:
            raise NotFound(f"{self._prefix}{served} does not exist")
        return found.response(accept_encoding, IMMUTABLE)


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
