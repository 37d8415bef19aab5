"""A signed BadgeKit client for the tests: every request carries a fresh JWT over its path,
method and body, as BadgeKit clients send them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDict

from shared.tokens import authorization, mint


def multipart(
    fields: dict[str, Any], files: dict[str, tuple[str, bytes]] | None = None
) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type: text fields, then files given as
    `name: (filename, bytes)` (sent as application/octet-stream: the server must look at the
    bytes, not at a declared type)."""
    boundary = "plaudit-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, data) in (files or {}).items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDict[str]


class Client:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, secret: str, key: str = "master"
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secret
        self.key = key

    def as_key(self, key: str, secret: str) -> Client:
        return Client(self.session, self.base_url, secret, key)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: dict[str, Any] | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> Answer:
        data: bytes | None = raw
        all_headers = dict(headers or {})
        if json is not None:
            data, content_type = orjson.dumps(json), "application/json"
        elif form is not None:
            data = urlencode(form, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        if content_type:
            all_headers["Content-Type"] = content_type
        if sign and "Authorization" not in all_headers:
            token = mint(self.secret, method=method, path=path, body=data or None, key=self.key)
            all_headers["Authorization"] = authorization(token)
        # aiohttp wants large bodies as a stream, not bytes.
        payload: bytes | io.BytesIO | None = (
            io.BytesIO(data) if data is not None and len(data) > 512 * 1024 else data
        )
        async with self.session.request(
            method, self.base_url + path, data=payload, headers=all_headers
        ) as response:
            raw_body = await response.read()
            try:
                body = orjson.loads(raw_body) if raw_body else None
            except orjson.JSONDecodeError:
                body = raw_body.decode(errors="replace")
            return Answer(response.status, body, CIMultiDict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("DELETE", path, **kwargs)
