"""A signed BadgeKit client for the tests: every request carries a fresh JWT over its path,
method and body, as BadgeKit clients send them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDict

from shared.tokens import authorization, mint


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
        async with self.session.request(
            method, self.base_url + path, data=data, headers=all_headers
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
